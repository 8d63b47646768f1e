"""ConnectWise catalog items and the products of an opportunity or ticket."""

from __future__ import annotations

from decimal import Decimal

from webapp.integrations import operations as core
from webapp.psa.connectwise.client import condition
from webapp.psa.connectwise.push.base import Base
from webapp.psa.connectwise.sync import PRODUCT


class Products(Base):
    # -- products --------------------------------------------------------------------------

    def _catalog_item(self, product_id, sku: str, description: str) -> dict:
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
        lines: list[tuple],
        company: dict,
        fresh=False,
        replace: str = "",
    ):
        """One ConnectWise product per line under ``parent``; those already there (by our
        ``integrationXRef``) are left as they are (a ``fresh`` parent has none yet).

        With ``replace`` (the prefix of our references on that parent) the products become the
        lines: changed quantities, prices, costs and descriptions are updated (whole values,
        read back) and ours no longer among the lines are removed; the MSP's own stay.
        """
        existing = {} if fresh else {
            p.get("integrationXRef"): p
            for p in self.client.each("procurement/products", parent_condition)
        }  # fmt: skip
        wanted = {line[0] for line in lines}
        if replace:
            for xref, product in existing.items():
                if (xref or "").startswith(replace) and xref not in wanted:
                    self.client.delete(f"procurement/products/{product['id']}")
        for xref, product_id, sku, description, quantity, price, cost in lines:
            if xref in existing and replace:
                product = existing[xref]
                catalog = self._catalog_item(product_id, sku, description)
                if (product.get("catalogItem") or {}).get("id") == catalog["id"]:
                    self._update_product(product, description, quantity, price, cost)
                    continue
                # Another product under the same reference (a line replaced): replace it too.
                self.client.delete(f"procurement/products/{product['id']}")
            elif xref in existing:
                continue
            self.client.create(
                "procurement/products",
                {
                    **parent,
                    "catalogItem": self._catalog_item(product_id, sku, description),
                    "billableOption": "Billable",
                    "description": description[:2000],
                    "customerDescription": description[:2000],
                    "quantity": quantity,
                    "price": float(price),
                    "cost": float(cost),
                    "company": company,
                    "integrationXRef": xref,
                },
            )

    def _update_product(self, product: dict, description: str, quantity, price, cost) -> None:
        values = {
            "description": description[:2000],
            "customerDescription": description[:2000],
            "quantity": quantity,
            "price": float(price),
            "cost": float(cost),
        }
        changed = {k: v for k, v in values.items() if product.get(k) != v}
        if changed:
            self.client.patch(f"procurement/products/{product['id']}", changed)

    def _document_lines(self, document) -> list[tuple]:
        return [
            (
                f"msp-line-{line.id}",
                line.product_id,
                line.sku,
                line.description,
                line.quantity,
                line.unit_price,
                line.unit_cost or Decimal(0),
            )
            for line in document.lines
        ]
