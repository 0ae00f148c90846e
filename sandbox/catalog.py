"""The grocer's range: the same SKUs every system sells, each with a unit and a GST flag."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class CatalogItem:
    sku: str
    name: str
    category: str
    unit: str  # kg | g | each | bunch
    unit_size: Decimal  # how many units one sale of the product is (0.5 kg, 250 g, 1 each)
    price: Decimal  # AUD, GST-exclusive
    gst: bool


def _item(sku, name, category, unit, size, price, gst=False):
    return CatalogItem(sku, name, category, unit, Decimal(size), Decimal(price), gst)


CATALOG: tuple[CatalogItem, ...] = (
    _item("FRU-APL-1K", "Pink Lady Apples 1kg", "Fruit", "kg", "1", "6.90"),
    _item("FRU-BAN-1K", "Cavendish Bananas 1kg", "Fruit", "kg", "1", "4.50"),
    _item("FRU-ORG-1K", "Navel Oranges 1kg", "Fruit", "kg", "1", "5.20"),
    _item("FRU-PER-1K", "Packham Pears 1kg", "Fruit", "kg", "1", "5.90"),
    _item("FRU-STR-250", "Strawberries 250g", "Fruit", "g", "250", "4.00"),
    _item("FRU-BLU-125", "Blueberries 125g", "Fruit", "g", "125", "5.50"),
    _item("FRU-AVO-EA", "Hass Avocado", "Fruit", "each", "1", "2.20"),
    _item("FRU-LEM-EA", "Lemon", "Fruit", "each", "1", "0.90"),
    _item("FRU-MAN-EA", "Kensington Pride Mango", "Fruit", "each", "1", "3.50"),
    _item("FRU-GRP-500", "Red Grapes 500g", "Fruit", "g", "500", "4.75"),
    _item("VEG-CAR-BN", "Dutch Carrots", "Vegetables", "bunch", "1", "3.80"),
    _item("VEG-SPN-BN", "English Spinach", "Vegetables", "bunch", "1", "3.20"),
    _item("VEG-KAL-BN", "Tuscan Kale", "Vegetables", "bunch", "1", "3.90"),
    _item("VEG-BRO-500", "Broccoli 500g", "Vegetables", "g", "500", "3.40"),
    _item("VEG-POT-2K", "Dutch Cream Potatoes 2kg", "Vegetables", "kg", "2", "6.50"),
    _item("VEG-TOM-1K", "Truss Tomatoes 1kg", "Vegetables", "kg", "1", "7.90"),
    _item("VEG-CUC-EA", "Lebanese Cucumber", "Vegetables", "each", "1", "1.10"),
    _item("VEG-ONI-1K", "Brown Onions 1kg", "Vegetables", "kg", "1", "2.90"),
    _item("VEG-GAR-EA", "Garlic Bulb", "Vegetables", "each", "1", "1.50"),
    _item("VEG-PUM-1K", "Butternut Pumpkin 1kg", "Vegetables", "kg", "1", "3.60"),
    _item("VEG-LET-EA", "Cos Lettuce", "Vegetables", "each", "1", "2.80"),
    _item("VEG-MUS-250", "Swiss Brown Mushrooms 250g", "Vegetables", "g", "250", "4.20"),
    _item("HRB-BAS-BN", "Sweet Basil", "Herbs", "bunch", "1", "2.50"),
    _item("HRB-COR-BN", "Coriander", "Herbs", "bunch", "1", "2.50"),
    _item("HRB-PAR-BN", "Flat-leaf Parsley", "Herbs", "bunch", "1", "2.50"),
    _item("DAI-MLK-2L", "Full Cream Milk 2L", "Dairy", "each", "1", "4.10"),
    _item("DAI-EGG-12", "Free Range Eggs 12pk", "Dairy", "each", "1", "7.50"),
    _item("DAI-YOG-1K", "Greek Yoghurt 1kg", "Dairy", "kg", "1", "8.20"),
    _item("DAI-CHD-500", "Vintage Cheddar 500g", "Dairy", "g", "500", "11.00"),
    _item("BAK-SDG-EA", "Sourdough Loaf", "Bakery", "each", "1", "7.00"),
    _item("PAN-OIL-1L", "Extra Virgin Olive Oil 1L", "Pantry", "each", "1", "16.36", gst=True),
    _item("PAN-HNY-500", "Raw Honey 500g", "Pantry", "g", "500", "12.00"),
    _item("PAN-JUC-1L", "Cold-pressed Orange Juice 1L", "Pantry", "each", "1", "7.27", gst=True),
    _item("PAN-GRN-500", "Toasted Granola 500g", "Pantry", "g", "500", "9.09", gst=True),
    _item("BOX-VEG-EA", "Seasonal Veg Box", "Boxes", "each", "1", "45.00"),
    _item("BOX-FRU-EA", "Seasonal Fruit Box", "Boxes", "each", "1", "40.00"),
)
