"""Progress bars for management commands that take more than a second: plain, and on a terminal only.

Drawn on the command's stderr when it is a terminal; nothing at all when it is
piped, redirected (cron mail, CI logs) or the command prints JSON. Plain: a
bar written through Django's OutputWrapper would take the stderr style (bold
red, as for an error) and a newline after every redraw.
"""

from django.core.management.base import OutputWrapper
from tqdm import tqdm


class _Unstyled:
    """Write tqdm's redraws through an OutputWrapper as they are: no style, no added newline."""

    def __init__(self, wrapper: OutputWrapper):
        self._wrapper = wrapper

    def write(self, text: str) -> None:
        self._wrapper.write(text, style_func=lambda message: message, ending="")

    def flush(self) -> None:
        self._wrapper.flush()


def progress_bar(
    stream: OutputWrapper, *, total: int, unit: str, enabled: bool = True, every_step: bool = False
) -> tqdm:
    """Return a bar of `total` `unit`s on `stream`, drawing nothing unless `stream` is a terminal and `enabled`.

    `every_step` redraws at each update (for a handful of long steps) rather than ten times a second.
    """
    return tqdm(
        total=total,
        unit=unit,
        file=_Unstyled(stream),
        leave=False,
        mininterval=0 if every_step else 0.1,
        disable=not (enabled and stream.isatty()),
    )
