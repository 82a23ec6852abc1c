"""Bar charts drawn on the server as inline SVG: no JavaScript, so they show in any browser and in screenshots.

    {% load backoffice_charts %}
    {% day_chart dashboard.sales_per_day "amount" "Volume" %}
    {% product_chart summary.products %}

The geometry is plain floats (pixels); every figure written on or under a bar
is the Decimal (or count) itself.
"""

from dataclasses import dataclass
from decimal import Decimal

from django import template

from backoffice.dashboards import counted
from backoffice.selectors import DayTotal, ProductTotal

register = template.Library()

WIDTH = 640
HEIGHT = 180
LEFT = 64  # room for the y axis figures
BOTTOM = 24  # room for the dates
TOP = 8
ROW = 26  # one product per row
NAME_WIDTH = 200
VALUE_WIDTH = 150
NAME_CHARS = 26


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    tip: str
    label: str = ""
    figure: str = ""
    # Where the label and figure of a product's row are written.
    text_y: float = 0.0
    figure_x: float = 0.0
    # A day's date: under the middle of its bar, the last one ending at the chart's edge.
    label_x: float = 0.0
    anchor: str = "middle"


def _ceiling(value: Decimal | int) -> Decimal:
    """Return a round top for the axis at or above `value`: 1, 2 or 5 times a power of ten."""
    value = Decimal(value)
    if value <= 0:
        return Decimal(1)
    power = Decimal(10) ** (value.adjusted())
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power  # pragma: no cover - the loop ends at 10 x power, which is always enough


def _tick(value: Decimal) -> str:
    """Write an axis figure as plain digits: 20, 2.5, 0.05 (never 2E+1)."""
    return f"{value.normalize():f}"


@register.inclusion_tag("backoffice/charts/days.html")
def day_chart(days: list[DayTotal], measure: str, title: str, unit: str = ""):
    """Draw one bar per day of `days`, `measure` ("count" or "amount") high, a date under every seventh."""
    values = [getattr(day, measure) for day in days]
    top = _ceiling(max(values, default=0))
    plot_width, plot_height = WIDTH - LEFT, HEIGHT - TOP - BOTTOM
    slot = plot_width / max(len(days), 1)
    bars = []
    for n, (day, value) in enumerate(zip(days, values, strict=True)):
        height = float(value) / float(top) * plot_height
        last = n == len(days) - 1  # today: always labelled, counting back in weeks from it
        bars.append(
            Bar(
                x=LEFT + n * slot + slot * 0.1,
                y=TOP + plot_height - height,
                width=slot * 0.8,
                height=height,
                tip=f"{day.day:%a %-d %b}: {counted(day.count, 'order')}, {day.amount} {unit}".strip(),
                label=f"{day.day:%-d %b}" if (len(days) - 1 - n) % 7 == 0 else "",
                label_x=WIDTH if last else LEFT + (n + 0.5) * slot,
                anchor="end" if last else "middle",
            )
        )
    return {
        "title": title,
        "measure": measure,
        "bars": bars,
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "top": TOP,
        "base": TOP + plot_height,
        "middle": TOP + plot_height / 2,
        "tick_x": LEFT - 6,
        "axis_top": _tick(top),
        "axis_middle": _tick(top / 2),
        "label_y": HEIGHT - 4,
        "total": sum(values),
        "unit": unit,
    }


@register.inclusion_tag("backoffice/charts/products.html")
def product_chart(products: list[ProductTotal], unit: str = ""):
    """Draw one horizontal bar per product, as long as its revenue, its units and revenue at the end."""
    top = max((product.revenue for product in products), default=Decimal(0)) or Decimal(1)
    plot_width = WIDTH - NAME_WIDTH - VALUE_WIDTH
    bars = []
    for n, product in enumerate(products):
        width = float(product.revenue) / float(top) * plot_width
        name = product.name if len(product.name) <= NAME_CHARS else f"{product.name[: NAME_CHARS - 1]}…"
        bars.append(
            Bar(
                x=NAME_WIDTH,
                y=n * ROW + 4,
                width=max(width, 1.0),
                height=ROW - 8,
                tip=f"{product.name}: {counted(product.units, 'unit')}, {product.revenue} {unit}".strip(),
                label=name,
                figure=f"{product.revenue} · {product.units} u.",
                text_y=n * ROW + 18,
                figure_x=NAME_WIDTH + max(width, 1.0) + 6,
            )
        )
    return {
        "bars": bars,
        "width": WIDTH,
        "height": max(len(bars), 1) * ROW,
        "name_x": NAME_WIDTH - 6,
        "unit": unit,
    }
