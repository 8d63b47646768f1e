"""Realistic-looking catalog data for the demo and the benchmarks, generated from a seed."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

# (category, product type, cost range, brands, name patterns)
CATEGORIES: list[tuple[str, str, tuple[int, int], list[str], list[str]]] = [
    (
        "Laptops",
        "physical",
        (450, 2400),
        ["HP", "Dell", "Lenovo", "Acer", "Asus", "Microsoft"],
        [
            '{series} {n}{g} {size}" i{cpu} {ram}GB {ssd}GB SSD',
            '{series} {n} G{g} {size}" Ryzen {cpu} {ram}GB',
        ],
    ),
    (
        "Desktops",
        "physical",
        (380, 1900),
        ["HP", "Dell", "Lenovo", "Acer"],
        [
            "{series} {n} SFF i{cpu} {ram}GB {ssd}GB",
            "{series} {n} Tower Ryzen {cpu} {ram}GB {ssd}GB",
        ],
    ),
    (
        "Monitors",
        "physical",
        (110, 900),
        ["Dell", "HP", "Samsung", "LG", "ViewSonic", "Lenovo"],
        ['{size}" {res} IPS Monitor {n}', '{series} {size}" USB-C Monitor {n}'],
    ),
    (
        "Docking Stations",
        "physical",
        (90, 380),
        ["Dell", "HP", "Lenovo", "StarTech", "Belkin"],
        ["USB-C Dock {n} {w}W", "Thunderbolt 4 Dock {n}"],
    ),
    (
        "Keyboards & Mice",
        "physical",
        (12, 160),
        ["Logitech", "Microsoft", "Dell", "HP"],
        ["Wireless Keyboard {n}", "MX Mouse {n}", "Desktop Combo {n}"],
    ),
    (
        "Headsets",
        "physical",
        (25, 320),
        ["Jabra", "Poly", "Logitech", "Yealink"],
        ["Evolve {n} UC Stereo", "Voyager {n} Bluetooth Headset", "USB Headset {n}"],
    ),
    (
        "Switches",
        "physical",
        (60, 4200),
        ["Cisco", "Ubiquiti", "Aruba", "Netgear", "TP-Link"],
        ["{ports}-Port Gigabit PoE+ Managed Switch {n}", "{ports}-Port 10G SFP+ Switch {n}"],
    ),
    (
        "Wireless Access Points",
        "physical",
        (80, 900),
        ["Ubiquiti", "Aruba", "Cisco", "TP-Link"],
        ["Wi-Fi 6 Access Point {n}", "Wi-Fi 7 Access Point {n} Pro"],
    ),
    (
        "Firewalls",
        "physical",
        (300, 6000),
        ["Fortinet", "Cisco", "SonicWall", "WatchGuard"],
        ["FortiGate {n}F", "Firebox T{n}", "TZ{n} Security Appliance"],
    ),
    (
        "Routers",
        "physical",
        (90, 1500),
        ["Cisco", "Ubiquiti", "Netgear", "TP-Link"],
        ["Business VPN Router {n}", "Gateway {n} Pro"],
    ),
    (
        "NAS",
        "physical",
        (280, 3500),
        ["Synology", "QNAP"],
        ["DiskStation DS{n}+", "{bays}-Bay NAS TS-{n}"],
    ),
    (
        "Solid State Drives",
        "physical",
        (35, 700),
        ["Samsung", "Kingston", "Crucial", "Western Digital"],
        ["{ssd}GB NVMe SSD {n}", "{ssd}GB SATA SSD {n}"],
    ),
    (
        "Hard Drives",
        "physical",
        (60, 600),
        ["Seagate", "Western Digital", "Toshiba"],
        ["IronWolf {tb}TB NAS HDD {n}", "Red Plus {tb}TB {n}", "Exos {tb}TB Enterprise {n}"],
    ),
    (
        "Memory",
        "physical",
        (20, 450),
        ["Kingston", "Crucial", "Samsung"],
        ["{ram}GB DDR5 {speed} SODIMM {n}", "{ram}GB DDR4 {speed} DIMM {n}"],
    ),
    (
        "Printers",
        "physical",
        (120, 2500),
        ["HP", "Brother", "Epson", "Canon"],
        ["LaserJet Pro M{n}dw", "Colour Laser MFC-L{n}CDW", "WorkForce Pro WF-{n}"],
    ),
    (
        "Toner & Ink",
        "physical",
        (25, 350),
        ["HP", "Brother", "Epson", "Canon"],
        ["Toner Cartridge {code}A Black", "High Yield Toner TN-{n}", "Ink Cartridge {n}XL"],
    ),
    (
        "UPS & Power",
        "physical",
        (90, 4500),
        ["APC", "Eaton", "CyberPower"],
        ["Smart-UPS {va}VA LCD", "5P {va}i Rack UPS", "PDU {n} Metered"],
    ),
    (
        "Cables & Adapters",
        "physical",
        (3, 90),
        ["StarTech", "Belkin", "Cable Matters"],
        ["Cat6A Patch Cable {m}m {colour}", "USB-C to HDMI Adapter {n}", "DisplayPort Cable {m}m"],
    ),
    (
        "Servers",
        "physical",
        (1800, 14000),
        ["Dell", "HP", "Lenovo"],
        ["PowerEdge R{n} Xeon {ram}GB", "ProLiant DL{n} Gen11", "ThinkSystem SR{n}"],
    ),
    (
        "Software Licences",
        "non_physical",
        (5, 900),
        ["Microsoft", "Adobe", "Veeam", "Sophos"],
        ["{product} {plan} 1-Year Licence", "{product} {plan} Subscription"],
    ),
]

# Product lines belong to their brand: no "Samsung ThinkPad".
SERIES = {
    "HP": ["ProBook", "EliteBook", "ZBook", "Elite", "ProDesk", "EliteDisplay"],
    "Dell": ["Latitude", "Vostro", "OptiPlex", "Precision", "Inspiron", "UltraSharp"],
    "Lenovo": ["ThinkPad", "ThinkCentre", "IdeaPad", "ThinkVision", "ThinkStation"],
    "Acer": ["Aspire", "TravelMate", "Veriton", "Vero"],
    "Asus": ["ExpertBook", "ExpertCenter", "ProArt", "Zenbook"],
    "Microsoft": ["Surface"],
    "Samsung": ["ViewFinity", "Odyssey", "Smart Monitor"],
    "LG": ["UltraFine", "UltraWide", "Ergo"],
    "ViewSonic": ["VG", "VX", "ColorPro"],
}
GENERIC_SERIES = ["Pro", "Business", "Essential", "Plus"]
SOFTWARE = [
    "Microsoft 365",
    "Acrobat Pro",
    "Backup & Replication",
    "Intercept X",
    "Windows Server",
    "Creative Cloud",
    "Exchange Online",
    "Defender for Business",
]
PLANS = [
    "Business Basic",
    "Business Standard",
    "Business Premium",
    "E3",
    "E5",
    "Standard",
    "Enterprise",
]
COLOURS = ["Blue", "Grey", "Black", "Yellow", "Red", "White"]


@dataclass(frozen=True)
class DemoProduct:
    category: str
    product_type: str
    brand: str
    mpn: str
    name: str
    description: str
    base_cost: Decimal


def _name(rng: random.Random, pattern: str, brand: str) -> str:
    return pattern.format(
        series=rng.choice(SERIES.get(brand, GENERIC_SERIES)),
        n=rng.randint(100, 9999),
        g=rng.randint(1, 11),
        size=rng.choice([13, 14, 15.6, 16, 24, 27, 32, 34]),
        cpu=rng.choice([3, 5, 7, 9]),
        ram=rng.choice([8, 16, 32, 64, 128]),
        ssd=rng.choice([256, 512, 1000, 2000, 4000]),
        res=rng.choice(["FHD", "QHD", "4K UHD"]),
        w=rng.choice([65, 90, 100, 130, 180]),
        ports=rng.choice([8, 16, 24, 48]),
        bays=rng.choice([2, 4, 6, 8]),
        tb=rng.choice([4, 8, 12, 16, 20, 24]),
        speed=rng.choice([3200, 4800, 5600]),
        code=rng.randint(10, 99),
        va=rng.choice([750, 1000, 1500, 2200, 3000]),
        m=rng.choice([0.5, 1, 2, 3, 5, 10]),
        colour=rng.choice(COLOURS),
        product=rng.choice(SOFTWARE),
        plan=rng.choice(PLANS),
    )


def _mpn(rng: random.Random, brand: str) -> str:
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    prefix = "".join(rng.choice(letters) for _ in range(rng.randint(2, 3)))
    return f"{prefix}{rng.randint(100, 99999)}-{rng.choice(letters)}{rng.randint(0, 99):02d}"


def products(count: int, seed: int = 42) -> Iterator[DemoProduct]:
    """Yield `count` distinct products spread over the categories above."""
    rng = random.Random(seed)
    seen: set[tuple[str, str]] = set()
    produced = 0
    while produced < count:
        category, product_type, (low, high), brands, patterns = rng.choice(CATEGORIES)
        brand = rng.choice(brands)
        mpn = _mpn(rng, brand)
        if (brand, mpn) in seen:
            continue
        seen.add((brand, mpn))
        name = _name(rng, rng.choice(patterns), brand)
        cost = Decimal(rng.randint(low * 100, high * 100)) / 100
        produced += 1
        yield DemoProduct(
            category=category,
            product_type=product_type,
            brand=brand,
            mpn=mpn,
            name=f"{brand} {name}",
            description=f"{brand} {name}. {category[:-1] if category.endswith('s') else category} "
            f"for business, part number {mpn}.",
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
    for item in items:
        if rng.random() > 0.55:
            continue  # each supplier carries about half of the catalog
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
        }
