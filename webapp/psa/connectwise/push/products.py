"""ConnectWise catalog items and the products of an opportunity or ticket."""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from webapp.integrations import operations as core
from webapp.psa.connectwise.client import condition, same
from webapp.psa.connectwise.push.base import Base
from webapp.psa.connectwise.sync import PRODUCT


class Line(NamedTuple):
    """One of our lines as a ConnectWise product (``xref``: its ``integrationXRef``)."""

    xref: str
    product_id: int | None
    sku: str
    description: str
    quantity: int
    price: Decimal
    cost: Decimal
    taxable: bool  # our line carries tax (a tax rate above zero)


class Products(Base):
    # -- products --------------------------------------------------------------------------

    def _tax(self, taxable: bool) -> dict:
        """``taxableFlag`` always (a false unsent is a taxable product: PSA-NOTES T12) and, on a
        taxable product, the tax code chosen in the settings (``ProductItem.taxCode``)."""
        values: dict = {"taxableFlag": bool(taxable)}
        code = self.connection.option("tax_code")
        if taxable and code not in (None, ""):
            values["taxCode"] = {"id": int(code)}
        return values

    def _catalog_item(self, product_id, sku: str, description: str, taxable: bool = True) -> dict:
        """The catalog item of a product, created in ConnectWise when missing (by SKU)."""
        if product_id:
            link = core.link_for(self.connection.id, PRODUCT, product_id)
            if link is not None:
                return {"id": int(link.remote_id)}
        identifier = (sku or f"MSP-{product_id or 'MISC'}")[:75]
        found = self.client.find("procurement/catalog", condition("identifier", "=", identifier))
        if found:
            item = found[0]
        else:
            item = self.client.create(
                "procurement/catalog",
                {
                    "identifier": identifier,
                    "description": description[:60],
                    "customerDescription": description[:60],
                    "subcategory": self._ref("subcategory", "product subcategory"),
                    "type": self._ref("product_type", "product type"),
                    "productClass": "NonInventory",
                    "taxableFlag": bool(taxable),
                    "integrationXRef": f"msp-product-{product_id or 'misc'}"[:50],
                },
            )
        if product_id:
            core.save_link(self.connection, PRODUCT, product_id, remote_id=str(item["id"]))
        return {"id": int(item["id"])}

    def _products(
        self,
        parent: dict,
        parent_condition: str,
        lines: list[Line],
        company: dict,
        fresh=False,
        replace: str = "",
    ):
        """One ConnectWise product per line under ``parent``; those already there (by our
        ``integrationXRef``) are left as they are (a ``fresh`` parent has none yet).

        With ``replace`` (the prefix of our references on that parent) the products become the
        lines: changed quantities, prices, costs, descriptions and taxes are updated (whole values,
        read back) and ours no longer among the lines are removed; the MSP's own stay.
        """
        existing = {} if fresh else {
            p.get("integrationXRef"): p
            for p in self.client.each("procurement/products", parent_condition)
        }  # fmt: skip
        wanted = {line.xref for line in lines}
        if replace:
            for xref, product in existing.items():
                if (xref or "").startswith(replace) and xref not in wanted:
                    self.client.delete(f"procurement/products/{product['id']}")
        for line in lines:
            if line.xref in existing and not replace:
                continue
            catalog = self._catalog_item(line.product_id, line.sku, line.description, line.taxable)
            if line.xref in existing:
                product = existing[line.xref]
                if (product.get("catalogItem") or {}).get("id") == catalog["id"]:
                    self._update_product(product, line)
                    continue
                # Another product under the same reference (a line replaced): replace it too.
                self.client.delete(f"procurement/products/{product['id']}")
            self.client.create(
                "procurement/products",
                {
                    **parent,
                    "catalogItem": catalog,
                    "billableOption": "Billable",
                    "description": line.description[:2000],
                    "customerDescription": line.description[:2000],
                    "quantity": line.quantity,
                    "price": float(line.price),
                    "cost": float(line.cost),
                    **self._tax(line.taxable),
                    "company": company,
                    "integrationXRef": line.xref,
                },
            )

    def _update_product(self, product: dict, line: Line) -> None:
        values = {
            "description": line.description[:2000],
            "customerDescription": line.description[:2000],
            "quantity": line.quantity,
            "price": float(line.price),
            "cost": float(line.cost),
            **self._tax(line.taxable),
        }
        changed = {k: v for k, v in values.items() if not same(v, product.get(k))}
        if changed:
            self.client.patch(f"procurement/products/{product['id']}", changed)

    def _document_lines(self, document) -> list[Line]:
        return [
            Line(
                f"msp-line-{line.id}",
                line.product_id,
                line.sku,
                line.description,
                line.quantity,
                line.unit_price,
                line.unit_cost or Decimal(0),
                (line.tax_rate or 0) > 0,
            )
            for line in document.lines
        ]
