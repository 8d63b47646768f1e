"""Realistic-looking catalog data for the demo and the benchmarks, generated from a seed.

Each category lists product families as a distributor's feed names them: the brand's own
model line, its specifications and a part number in the brand's format. A pattern such as
``ThinkPad T14 Gen {gen:4|5}`` picks one of the alternatives; a named alternative is also a
key specification (shown on the product page). The first product of every family takes the
first alternatives, so a small demo still holds every family; the rest vary at random.

Longer than our usual 600 lines on purpose: most of it is the families' table (data, not
logic), kept in one place so a newcomer adds a category or a brand in one file.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

# Specification labels for the named alternatives of the patterns below.
SPEC_LABELS = {
    "cpu": "Processor",
    "ram": "Memory",
    "ssd": "Storage",
    "size": "Screen size",
    "res": "Resolution",
    "gen": "Generation",
    "ports": "Ports",
    "poe": "PoE budget",
    "cap": "Capacity",
    "iface": "Interface",
    "speed": "Speed",
    "bays": "Drive bays",
    "va": "Capacity (VA)",
    "len": "Length",
    "colour": "Colour",
    "plan": "Plan",
    "term": "Term",
    "watts": "Power delivery",
    "wifi": "Wireless",
    "conn": "Connection",
    "yield": "Page yield",
    "model": "Model",
}

# (category, product type, [(brand, name pattern, part-number pattern, cost low, cost high)])
# Part-number patterns: "#" a digit, "@" a capital letter, anything else as written.
CATEGORIES: list[tuple[str, str, list[tuple[str, str, str, int, int]]]] = [
    (
        "Laptops",
        "physical",
        [
            (
                "Lenovo",
                'ThinkPad T14 Gen {gen:4|5} 14" Intel Core {cpu:i5|i7} {ram:16GB|32GB} {ssd:512GB|1TB} SSD',  # noqa: E501
                "21HD##@@US",
                1150,
                1900,
            ),
            (
                "Lenovo",
                'ThinkPad X1 Carbon Gen {gen:11|12} 14" Intel Core {cpu:i7|Ultra 7} {ram:16GB|32GB} {ssd:512GB|1TB} SSD',  # noqa: E501
                "21KC##@@AU",
                1900,
                2600,
            ),
            (
                "Lenovo",
                'ThinkPad E16 Gen {gen:1|2} 16" AMD Ryzen {cpu:5|7} {ram:8GB|16GB} {ssd:256GB|512GB} SSD',  # noqa: E501
                "21JT##@@US",
                750,
                1100,
            ),
            (
                "Dell",
                'Latitude {model:5440|5450} 14" Intel Core {cpu:i5|i7} {ram:16GB|8GB} {ssd:512GB|256GB} SSD',  # noqa: E501
                "N0#@L####@@",
                1050,
                1650,
            ),
            (
                "Dell",
                'Latitude {model:7440|7450} 14" Intel Core {cpu:i7|Ultra 5} {ram:16GB|32GB} {ssd:512GB|1TB} SSD',  # noqa: E501
                "N0#@L####@@",
                1500,
                2200,
            ),
            (
                "Dell",
                'Vostro {model:3520|3530} 15.6" Intel Core {cpu:i5|i3} {ram:8GB|16GB} {ssd:256GB|512GB} SSD',  # noqa: E501
                "N#0##VNB35##",
                560,
                850,
            ),
            (
                "HP",
                'EliteBook {model:840 G10|840 G11} 14" Intel Core {cpu:i5|i7} {ram:16GB|32GB} {ssd:512GB|1TB} SSD',  # noqa: E501
                "#@@##@@",
                1250,
                1950,
            ),
            (
                "HP",
                'ProBook {model:450 G10|460 G11} 15.6" Intel Core {cpu:i5|i7} {ram:8GB|16GB} {ssd:256GB|512GB} SSD',  # noqa: E501
                "#@@##@@",
                780,
                1200,
            ),
            (
                "Microsoft",
                'Surface Laptop {gen:5|6} for Business 13.5" Intel Core {cpu:i5|i7} {ram:16GB|8GB} {ssd:256GB|512GB} SSD',  # noqa: E501
                "ZL#-#####",
                1300,
                2100,
            ),
            (
                "Asus",
                'ExpertBook B{model:5|9} 14" Intel Core {cpu:i5|i7} {ram:16GB|32GB} {ssd:512GB|1TB} SSD',  # noqa: E501
                "B#40#@@A-@@####@",
                900,
                1600,
            ),
            (
                "Apple",
                'MacBook Air {size:13"|15"} M{gen:3|2} {ram:16GB|8GB} {ssd:512GB|256GB} SSD',
                "M@@@#@@/A",
                1150,
                1900,
            ),
        ],
    ),
    (
        "Desktops",
        "physical",
        [
            (
                "Dell",
                "OptiPlex {model:7010|7020} Small Form Factor Intel Core {cpu:i5|i7} {ram:16GB|8GB} {ssd:512GB|256GB} SSD",  # noqa: E501
                "N0##O70##SFF",
                700,
                1200,
            ),
            (
                "Dell",
                "OptiPlex Micro {model:7010|7020} Intel Core {cpu:i5|i3} {ram:8GB|16GB} {ssd:256GB|512GB} SSD",  # noqa: E501
                "N0##O70##MFF",
                620,
                980,
            ),
            (
                "HP",
                "Pro Mini 400 G9 Desktop Intel Core {cpu:i5|i7} {ram:16GB|8GB} {ssd:512GB|256GB} SSD",  # noqa: E501
                "#@@##@@",
                640,
                1050,
            ),
            (
                "HP",
                "EliteDesk {model:800 G9|800 G6} Tower Intel Core {cpu:i7|i5} {ram:16GB|32GB} {ssd:512GB|1TB} SSD",  # noqa: E501
                "#@@##@@",
                980,
                1500,
            ),
            (
                "Lenovo",
                "ThinkCentre M70q Gen {gen:4|5} Tiny Intel Core {cpu:i5|i7} {ram:16GB|8GB} {ssd:512GB|256GB} SSD",  # noqa: E501
                "12E#00@@AU",
                650,
                1000,
            ),
            (
                "Lenovo",
                "ThinkStation P{model:360|3} Tower Intel Core {cpu:i7|i9} {ram:32GB|64GB} {ssd:1TB|2TB} SSD",  # noqa: E501
                "30@@00@@AU",
                1600,
                3200,
            ),
            (
                "Apple",
                "Mac mini M{gen:2|4} {ram:16GB|8GB} {ssd:512GB|256GB} SSD",
                "M@@@#@@/A",
                900,
                1500,
            ),
        ],
    ),
    (
        "Monitors",
        "physical",
        [
            (
                "Dell",
                'UltraSharp {model:U2724D|U2424H} {size:27"|24"} {res:QHD|FHD} IPS Monitor',
                "DELL-U2#2#@",
                290,
                560,
            ),
            (
                "Dell",
                'P{model:2425H|2725H} {size:24"|27"} {res:FHD} IPS Monitor',
                "DELL-P2#25H",
                190,
                280,
            ),
            (
                "Dell",
                'UltraSharp U3425WE {size:34"} {res:WQHD} Curved USB-C Hub Monitor',
                "DELL-U3425WE",
                820,
                980,
            ),
            ("HP", 'E{model:24|27} G5 {size:24"|27"} {res:FHD} IPS Monitor', "6N#@@A@", 170, 260),
            (
                "Lenovo",
                'ThinkVision T{model:27i-30|24i-30} {size:27"|24"} {res:FHD} IPS Monitor',
                "63A#MAR#WW",
                180,
                290,
            ),
            (
                "Samsung",
                'ViewFinity S{model:80PB|60UD} {size:32"|27"} {res:4K UHD|QHD} USB-C Monitor',
                "LS##@@@@@EXXY",
                320,
                640,
            ),
            (
                "LG",
                'UltraWide {model:34WR50QC|29WQ600} {size:34"|29"} {res:WQHD|WFHD} Monitor',
                "##W@##@@-B",
                330,
                520,
            ),
        ],
    ),
    (
        "Docking Stations",
        "physical",
        [
            (
                "Dell",
                "Dock {model:WD22TB4|WD19S} Thunderbolt 4 {watts:180W|130W}",
                "DELL-WD##@@#",
                230,
                380,
            ),
            ("Dell", "Universal Dock UD22 USB-C {watts:96W}", "DELL-UD22", 190, 240),
            ("HP", "USB-C Dock G{gen:5|4} {watts:100W}", "5TW10AA#@@@", 170, 240),
            ("HP", "Thunderbolt Dock G{gen:4|2} {watts:120W|280W}", "4J0A2AA#@@@", 250, 380),
            ("Lenovo", "ThinkPad Universal USB-C Dock {watts:90W|135W}", "40AY0090@@", 190, 280),
            (
                "Lenovo",
                "ThinkPad Thunderbolt 4 Workstation Dock {watts:230W|300W}",
                "40B00300@@",
                300,
                420,
            ),
            (
                "StarTech",
                "USB-C Triple Monitor Docking Station {watts:100W|85W}",
                "DK31C3HDPD@@",
                180,
                260,
            ),
        ],
    ),
    (
        "Keyboards & Mice",
        "physical",
        [
            (
                "Logitech",
                "MX Keys S Wireless Keyboard {colour:Graphite|Pale Grey}",
                "920-0114##",
                95,
                130,
            ),
            (
                "Logitech",
                "MX Master 3S Wireless Mouse {colour:Graphite|Pale Grey|Black}",
                "910-0065##",
                85,
                120,
            ),
            (
                "Logitech",
                "MK{model:540|295} Advanced Wireless Keyboard and Mouse Combo",
                "920-00####",
                35,
                70,
            ),
            (
                "Logitech",
                "Signature M650 Wireless Mouse {colour:Graphite|Off-White}",
                "910-0062##",
                28,
                45,
            ),
            ("Microsoft", "Bluetooth Ergonomic Keyboard {colour:Black}", "222-000##", 45, 70),
            ("Microsoft", "Surface Arc Mouse {colour:Black|Light Grey}", "CZV-000##", 60, 90),
            (
                "Dell",
                "Pro Wireless Keyboard and Mouse KM{model:5221W|3322W}",
                "KM5221W-@@-##",
                35,
                65,
            ),
        ],
    ),
    (
        "Headsets",
        "physical",
        [
            (
                "Jabra",
                "Evolve2 {model:65|55} UC Stereo Wireless Headset {conn:USB-A|USB-C}",
                "26599-989-9##",
                180,
                330,
            ),
            (
                "Jabra",
                "Evolve2 30 SE MS Stereo Wired Headset {conn:USB-C|USB-A}",
                "23189-999-8##",
                55,
                80,
            ),
            ("Jabra", "Engage {model:55|65} Mono DECT Headset", "9553-###-111", 240, 380),
            (
                "Poly",
                "Voyager Focus 2 UC Bluetooth Headset {conn:USB-A|USB-C}",
                "77Y8#AA",
                210,
                290,
            ),
            ("Poly", "Blackwire 3320 Stereo USB Headset {conn:USB-A|USB-C}", "8X2#5AA", 35, 55),
            (
                "Logitech",
                "Zone Wireless 2 Bluetooth Headset {colour:Graphite|Off-White}",
                "981-0013##",
                230,
                300,
            ),
            ("Yealink", "BH7{model:2|6} Bluetooth Teams Headset", "BH7#-TEAMS-@@", 120, 190),
        ],
    ),
    (
        "Switches",
        "physical",
        [
            (
                "Cisco",
                "Catalyst 9200L {ports:24-Port|48-Port} Gigabit PoE+ Switch 4x1G Uplink",
                "C9200L-{ports}P-4G-E",
                1800,
                4200,
            ),
            (
                "Cisco",
                "Business CBS350 {ports:24-Port|8-Port} Gigabit PoE+ Managed Switch",
                "CBS350-{ports}P-4G-AU",
                380,
                1200,
            ),
            (
                "Ubiquiti",
                "UniFi Switch Pro {ports:24-Port|48-Port} PoE {poe:400W|600W}",
                "USW-Pro-{ports}-PoE",
                650,
                1300,
            ),
            (
                "Ubiquiti",
                "UniFi Switch Lite {ports:16-Port|8-Port} PoE",
                "USW-Lite-{ports}-PoE",
                110,
                260,
            ),
            (
                "Aruba",
                "Instant On 1930 {ports:24-Port|48-Port} Gigabit PoE+ Switch {poe:370W|195W}",
                "JL68#A",
                520,
                1100,
            ),
            (
                "Netgear",
                "GS{model:728TP|752TP} {ports:24-Port|48-Port} Gigabit PoE+ Smart Switch",
                "GS7##TP-100AJS",
                380,
                780,
            ),
            (
                "TP-Link",
                "Omada SG3428MP {ports:24-Port} Gigabit PoE+ L2+ Managed Switch",
                "SG3428MP",
                380,
                480,
            ),
        ],
    ),
    (
        "Wireless Access Points",
        "physical",
        [
            (
                "Ubiquiti",
                "UniFi U6 {model:Pro|Lite|Enterprise} {wifi:Wi-Fi 6} Access Point",
                "U6-{model}",
                120,
                420,
            ),
            (
                "Ubiquiti",
                "UniFi U7 {model:Pro|Pro Max} {wifi:Wi-Fi 7} Access Point",
                "U7-{model}",
                220,
                380,
            ),
            ("Aruba", "Instant On AP{model:22|25} {wifi:Wi-Fi 6} Access Point", "R4W0#A", 150, 330),
            (
                "Cisco",
                "Catalyst {model:9115AXI|9120AXI} {wifi:Wi-Fi 6} Access Point",
                "C91#5AXI-@",
                620,
                1100,
            ),
            (
                "TP-Link",
                "Omada EAP{model:650|670} {wifi:Wi-Fi 6} Ceiling Mount Access Point",
                "EAP6#0",
                110,
                220,
            ),
        ],
    ),
    (
        "Firewalls",
        "physical",
        [
            (
                "Fortinet",
                "FortiGate {model:40F|60F|80F} Next-Generation Firewall",
                "FG-{model}",
                420,
                2100,
            ),
            (
                "Fortinet",
                "FortiGate {model:60F|40F} Hardware plus 1 Year UTP Bundle",
                "FG-{model}-BDL-950-12",
                700,
                1600,
            ),
            (
                "SonicWall",
                "TZ{model:270|370|470} Next-Generation Firewall",
                "02-SSC-##@@",
                550,
                1700,
            ),
            (
                "WatchGuard",
                "Firebox T{model:45|85} with 1 Year Basic Security Suite",
                "WGT##0##",
                700,
                1900,
            ),
            (
                "Cisco",
                "Secure Firewall {model:1010|1120} Threat Defense",
                "FPR1#@0-NGFW-K9",
                900,
                4800,
            ),
        ],
    ),
    (
        "Routers",
        "physical",
        [
            ("Ubiquiti", "UniFi Cloud Gateway {model:Ultra|Max} Router", "UCG-{model}", 120, 280),
            (
                "Ubiquiti",
                "UniFi Dream Machine {model:Pro|SE} Router and Security Gateway",
                "UDM-{model}",
                480,
                700,
            ),
            (
                "Cisco",
                "ISR {model:1111|1121} 4-Port Gigabit Ethernet Router",
                "C11##-4P",
                900,
                1500,
            ),
            ("TP-Link", "Omada ER{model:605|7206} Gigabit VPN Router", "ER#0#", 60, 280),
            (
                "Netgear",
                "Orbi Pro {wifi:Wi-Fi 6} Mesh Router SXR{model:30|50}",
                "SXR#0-100AUS",
                350,
                650,
            ),
        ],
    ),
    (
        "NAS",
        "physical",
        [
            (
                "Synology",
                "DiskStation DS{model:923+|423+|224+} {bays:4-Bay|2-Bay} NAS",
                "DS{model}",
                420,
                880,
            ),
            (
                "Synology",
                "RackStation RS{model:822+|1221+} {bays:4-Bay|8-Bay} Rackmount NAS",
                "RS{model}",
                1300,
                2200,
            ),
            (
                "QNAP",
                "TS-{model:464|264} {bays:4-Bay|2-Bay} NAS Intel Celeron 8GB",
                "TS-{model}-8G",
                480,
                780,
            ),
            (
                "QNAP",
                "TS-h{model:1290FX|886} {bays:12-Bay|8-Bay} NAS AMD EPYC",
                "TS-H{model}-7302P",
                3200,
                5200,
            ),
        ],
    ),
    (
        "Solid State Drives",
        "physical",
        [
            (
                "Samsung",
                "990 PRO {cap:1TB|2TB|4TB} NVMe M.2 SSD {iface:PCIe 4.0}",
                "MZ-V9P#T0BW",
                120,
                420,
            ),
            ("Samsung", '870 EVO {cap:1TB|500GB|2TB} 2.5" SATA SSD', "MZ-77E#T0BW", 80, 240),
            (
                "Crucial",
                "P3 Plus {cap:1TB|2TB|500GB} NVMe M.2 SSD {iface:PCIe 4.0}",
                "CT#000P3PSSD8",
                70,
                190,
            ),
            ("Kingston", "NV3 {cap:1TB|2TB} NVMe M.2 SSD {iface:PCIe 4.0}", "SNV3S/#000G", 65, 160),
            (
                "Kingston",
                "DC600M {cap:960GB|1.92TB|3.84TB} Enterprise SATA SSD",
                "SEDC600M/#####",
                220,
                780,
            ),
            ("Western Digital", "Red SN700 {cap:1TB|2TB} NVMe NAS SSD", "WDS#00T1R0C", 130, 290),
        ],
    ),
    (
        "Hard Drives",
        "physical",
        [
            (
                "Seagate",
                "IronWolf Pro {cap:8TB|12TB|16TB} NAS Hard Drive 7200rpm",
                "ST#000NT001",
                260,
                560,
            ),
            (
                "Seagate",
                "Exos X{model:20|24} {cap:20TB|24TB} Enterprise Hard Drive SATA",
                "ST#0000NM00#D",
                520,
                780,
            ),
            ("Western Digital", "Red Plus {cap:4TB|8TB|12TB} NAS Hard Drive", "WD#0EFPX", 150, 380),
            (
                "Western Digital",
                "Ultrastar DC HC{model:560|570} {cap:20TB|22TB} Enterprise Hard Drive",
                "0F38###",
                560,
                820,
            ),
            ("Toshiba", "N300 {cap:8TB|4TB} NAS Hard Drive 7200rpm", "HDWG#80UZSVA", 210, 320),
        ],
    ),
    (
        "Memory",
        "physical",
        [
            (
                "Kingston",
                "{cap:16GB|32GB|8GB} DDR5 {speed:5600MHz|4800MHz} SODIMM Laptop Memory",
                "KVR56S46BS8-##",
                45,
                150,
            ),
            (
                "Kingston",
                "{cap:32GB|16GB} DDR4 {speed:3200MHz} ECC Registered Server Memory",
                "KSM32RD4/##",
                90,
                220,
            ),
            (
                "Crucial",
                "{cap:16GB|32GB} DDR5 {speed:5600MHz} UDIMM Desktop Memory",
                "CT##G56C46U5",
                50,
                130,
            ),
            (
                "Crucial",
                "{cap:8GB|16GB} DDR4 {speed:3200MHz} SODIMM Laptop Memory",
                "CT#G4SFRA32A",
                22,
                55,
            ),
            (
                "Samsung",
                "{cap:64GB|32GB} DDR5 {speed:4800MHz} ECC RDIMM Server Memory",
                "M321R8GA0BB0-CQK",
                220,
                480,
            ),
        ],
    ),
    (
        "Printers",
        "physical",
        [
            ("HP", "LaserJet Pro {model:4001dw|4101fdw} Mono Laser Printer", "2Z6##@", 420, 780),
            (
                "HP",
                "Color LaserJet Pro MFP {model:4301fdw|3301fdw} Colour Laser Printer",
                "4RA##@",
                650,
                1100,
            ),
            ("Brother", "HL-L{model:5210DN|6210DW} Mono Laser Printer", "HL-L#2#0D@", 280, 560),
            (
                "Brother",
                "MFC-L{model:8390CDW|3760CDW} Colour Laser Multifunction Printer",
                "MFC-L#3#0CDW",
                520,
                980,
            ),
            (
                "Epson",
                "WorkForce Pro WF-C{model:4810|5890} Colour Inkjet Multifunction Printer",
                "C11C####01",
                280,
                620,
            ),
            (
                "Canon",
                "imageCLASS MF{model:455dw|656Cdw} Laser Multifunction Printer",
                "5161C0##AA",
                380,
                620,
            ),
        ],
    ),
    (
        "Toner & Ink",
        "physical",
        [
            (
                "HP",
                "{model:148A|148X} Black Toner Cartridge {yield:2,900 pages|9,500 pages}",
                "W1480@",
                95,
                260,
            ),
            (
                "HP",
                "{model:206A|206X} {colour:Cyan|Magenta|Yellow|Black} Toner Cartridge",
                "W211#@",
                80,
                150,
            ),
            (
                "Brother",
                "TN-{model:2450|3480} Black Toner Cartridge {yield:3,000 pages|8,000 pages}",
                "TN-#4#0",
                70,
                180,
            ),
            (
                "Brother",
                "TN-{model:258XL|248} {colour:Cyan|Magenta|Yellow|Black} Toner Cartridge",
                "TN-2#8@@",
                90,
                170,
            ),
            (
                "Epson",
                "T{model:812XL|802XL} {colour:Black|Cyan|Magenta|Yellow} Ink Cartridge",
                "C13T8##192",
                30,
                90,
            ),
            (
                "Canon",
                "Cartridge {model:057H|069} {colour:Black|Cyan} Toner",
                "3010C00#AA",
                110,
                260,
            ),
        ],
    ),
    (
        "UPS & Power",
        "physical",
        [
            (
                "APC",
                "Smart-UPS {va:1500VA|1000VA|3000VA} LCD Line Interactive UPS",
                "SMT#500IC",
                520,
                2100,
            ),
            ("APC", "Back-UPS Pro {va:1500VA|900VA} Tower UPS", "BR#500MI", 240, 420),
            (
                "APC",
                "Smart-UPS SRT {va:3000VA|2200VA} Online Rack Mount UPS",
                "SRT#000RMXLI",
                2400,
                4400,
            ),
            ("Eaton", "5P {va:1550VA|1150VA} Rack Mount UPS", "5P#550IR", 900, 1500),
            ("Eaton", "Basic Rack PDU 1U {model:12-Outlet|8-Outlet}", "EBAB#8", 120, 220),
            (
                "CyberPower",
                "PR{model:1500ELCDRT2U|3000ELCDRT2U} Smart App Rack/Tower UPS",
                "PR#500ELCDRT2U",
                900,
                2100,
            ),
        ],
    ),
    (
        "Cables & Adapters",
        "physical",
        [
            (
                "StarTech",
                "Cat6A Snagless Patch Cable {len:1m|2m|3m|5m|0.5m} {colour:Blue|Grey|Yellow}",
                "6ASPAT#M@@",
                6,
                24,
            ),
            (
                "StarTech",
                "USB-C to HDMI 2.0 4K Adapter {colour:Black|White}",
                "CDP2HD4K60@",
                25,
                40,
            ),
            ("Belkin", "USB-C to USB-C Cable {len:1m|2m} 100W", "CAB00#BT#M@@", 18, 35),
            ("Belkin", "DisplayPort 1.4 Cable {len:2m|1m} 8K", "CV100#BT#M-BLK", 22, 38),
            ("Cable Matters", "HDMI 2.1 Cable {len:2m|3m|1m} 8K 48Gbps", "201###-@@", 9, 26),
        ],
    ),
    (
        "Servers",
        "physical",
        [
            (
                "Dell",
                "PowerEdge R{model:660xs|760|360} Rack Server Intel Xeon {ram:32GB|64GB} {ssd:2x 480GB} SSD",  # noqa: E501
                "PER#60-@@##",
                3200,
                12000,
            ),
            (
                "Dell",
                "PowerEdge T{model:160|360} Tower Server Intel Xeon E-2434 {ram:16GB|32GB} {ssd:2TB|1TB} HDD",  # noqa: E501
                "PET#60-@@##",
                1800,
                4200,
            ),
            (
                "HP",
                "ProLiant DL{model:380|360} Gen11 Rack Server Intel Xeon Silver {ram:32GB|64GB}",
                "P5#4##-B21",
                4200,
                13000,
            ),
            (
                "HP",
                "ProLiant ML{model:30|110} Gen11 Tower Server Intel Xeon {ram:16GB|32GB}",
                "P6#1##-421",
                1900,
                4800,
            ),
            (
                "Lenovo",
                "ThinkSystem SR{model:630 V3|650 V3} Rack Server Intel Xeon Silver {ram:32GB|64GB}",
                "7D73A0##AU",
                4500,
                12500,
            ),
            (
                "Lenovo",
                "ThinkSystem ST{model:50 V2|250 V3} Tower Server Intel Xeon E {ram:16GB|32GB}",
                "7D8JA0##AU",
                1800,
                4200,
            ),
        ],
    ),
    (
        "Software Licences",
        "non_physical",
        [
            (
                "Microsoft",
                "365 {plan:Business Premium|Business Standard|Business Basic} {term:1 Year|1 Month} Subscription",  # noqa: E501
                "CFQ7TTC0LC##",
                6,
                400,
            ),
            ("Microsoft", "365 {plan:E3|E5} {term:1 Year} Subscription", "CFQ7TTC0LF##", 400, 700),
            (
                "Microsoft",
                "Windows Server 2025 {plan:Standard|Datacenter} 16 Core Licence",
                "9EM-00###",
                900,
                6200,
            ),
            (
                "Microsoft",
                "Defender for Business {term:1 Year} Subscription",
                "CFQ7TTC0HH##",
                30,
                60,
            ),
            (
                "Adobe",
                "Acrobat Pro for Teams {term:1 Year} Subscription",
                "65######BA01A12",
                240,
                290,
            ),
            (
                "Adobe",
                "Creative Cloud All Apps for Teams {term:1 Year} Subscription",
                "65######BA01A12",
                1000,
                1400,
            ),
            (
                "Veeam",
                "Data Platform Foundation Universal Licence {term:1 Year|3 Years} 10 Instances",
                "V-FOUVUL-0I-SU#YP-00",
                1200,
                3600,
            ),
            (
                "Sophos",
                "Intercept X Advanced for Server {term:1 Year|3 Years}",
                "SVRCIXA#MSAA",
                80,
                260,
            ),
        ],
    ),
]

_ALTERNATIVES = re.compile(r"\{(?:(\w+):)?([^{}]+)\}")
_DIGITS = "0123456789"
_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


@dataclass(frozen=True)
class DemoProduct:
    category: str
    product_type: str
    brand: str
    mpn: str
    name: str
    description: str
    base_cost: Decimal


def _fill(pattern: str, pick) -> tuple[str, dict[str, str]]:
    """Resolve a pattern's alternatives with `pick(options)`; also return the named choices."""
    chosen: dict[str, str] = {}

    def replace(match: re.Match) -> str:
        label, options = match.group(1), match.group(2).split("|")
        value = pick(options)
        if label:
            chosen[label] = value
        return value

    return _ALTERNATIVES.sub(replace, pattern), chosen


def _part_number(rng: random.Random, pattern: str, chosen: dict[str, str]) -> str:
    # A part number may repeat a choice: "C9200L-{ports}P" with "24-Port" is C9200L-24P.
    def named(match: re.Match) -> str:
        return chosen.get(match.group(2), "").split("-Port")[0].replace(" ", "-")

    text = _ALTERNATIVES.sub(named, pattern)
    return "".join(
        rng.choice(_DIGITS) if c == "#" else rng.choice(_LETTERS) if c == "@" else c for c in text
    )


def _description(brand: str, name: str, category: str, chosen: dict[str, str]) -> str:
    kind = category[:-1] if category.endswith("s") else category
    lines = [f"{brand} {name}: {kind.lower()} for business, with the manufacturer's warranty."]
    lines += [f"{SPEC_LABELS[key]}: {value}" for key, value in chosen.items() if key in SPEC_LABELS]
    return "\n".join(lines)


def products(count: int, seed: int = 42) -> Iterator[DemoProduct]:
    """Yield `count` distinct products: first one of every family, then random variants."""
    rng = random.Random(seed)
    families = [
        (category, product_type, family)
        for category, product_type, members in CATEGORIES
        for family in members
    ]
    seen: set[tuple[str, str]] = set()
    produced = 0
    attempt = 0
    while produced < count:
        category, product_type, (brand, pattern, mpn_pattern, low, high) = (
            families[attempt] if attempt < len(families) else rng.choice(families)
        )
        first = attempt < len(families)
        attempt += 1
        name, chosen = _fill(pattern, (lambda options: options[0]) if first else rng.choice)
        mpn = _part_number(rng, mpn_pattern, chosen)
        if not re.search(r"[#@]", _ALTERNATIVES.sub("", mpn_pattern)):
            # A fixed part number (e.g. "DS923+") is one product: variants get a suffix.
            mpn = mpn if (brand, mpn) not in seen else f"{mpn}-{rng.randint(10, 9999)}"
        if (brand, mpn) in seen:
            continue
        seen.add((brand, mpn))
        cost = Decimal(rng.randint(low * 100, high * 100)) / 100
        produced += 1
        yield DemoProduct(
            category=category,
            product_type=product_type,
            brand=brand,
            mpn=mpn,
            name=f"{brand} {name}",
            description=_description(brand, name, category, chosen),
            base_cost=cost,
        )


SUPPLIERS = [
    # code, name, email, online, freight, free-freight threshold, premium %
    ("ingram", "Ingram Micro", "orders@ingram.example", True, "15.00", "500.00", "0"),
    ("dicker", "Dicker Data", "orders@dicker.example", True, "12.50", "750.00", "-1.5"),
    ("synnex", "TD Synnex", "po@synnex.example", True, "18.00", "1000.00", "1.0"),
    ("leader", "Leader Computers", "sales@leader.example", True, "10.00", None, "2.0"),
    ("localpc", "Local PC Wholesale", "", False, "25.00", None, "5.0"),
]


def supplier_feed_rows(
    items: list[DemoProduct], supplier_index: int, seed: int = 7
) -> Iterator[dict[str, str]]:
    """Yield one supplier's feed rows (as CSV-ready strings) for a subset of products."""
    rng = random.Random(seed * 1000 + supplier_index)
    for position, item in enumerate(items):
        # Each supplier carries about half of the catalog; the first supplier every family's
        # first product, so that each of them has a price in a small demo.
        if rng.random() > 0.55 and not (supplier_index == 0 and position < _FAMILY_COUNT):
            continue
        spread = Decimal(rng.randint(90, 112)) / 100
        cost = (item.base_cost * spread).quantize(Decimal("0.01"))
        stock = 0 if rng.random() < 0.2 else rng.randint(1, 250)
        yield {
            "sku": f"{SUPPLIERS[supplier_index][0].upper()}-{item.mpn}",
            "mpn": item.mpn,
            "brand": item.brand,
            "name": item.name,
            "category": item.category,
            "cost": str(cost),
            "stock": str(stock),
            "eta_days": str(rng.choice([1, 2, 3, 5, 7, 14, 21])),
            "description": item.description,
        }


_FAMILY_COUNT = sum(len(members) for _category, _type, members in CATEGORIES)
