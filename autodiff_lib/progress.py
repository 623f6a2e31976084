"""A progress bar for notebooks whose saved output shows where it ended, not where it began.

In a notebook, tqdm draws a widget, and the output saved with the notebook carries a plain-text
copy of the bar for whoever reads it without widgets (GitHub, nbviewer, nbgrader's feedback
HTML). tqdm writes that copy once, when the bar appears: it reads "0/1000" for ever after.
``progress_bar`` shows the widget through a display handle and, when the bar closes (at the end
of a loop over it, or ``close()``), updates that display: the saved text is the final state.
Outside a notebook it is tqdm's text bar. tqdm and IPython come with the course's extras, not
with the library: they are imported when a bar is made.
"""

from __future__ import annotations

import functools

__all__ = ["progress_bar"]


def progress_bar(iterable=None, **options):
    """``tqdm.auto.tqdm(iterable, **options)``, whose saved notebook output is its last state."""
    from tqdm.auto import tqdm
    from tqdm.notebook import tqdm_notebook

    if not issubclass(tqdm, tqdm_notebook):  # a terminal, or no widgets: tqdm's text bar
        return tqdm(iterable, **options)
    return _notebook_bar()(iterable, **options)


@functools.cache
def _notebook_bar():
    """tqdm's notebook bar, displayed through a handle that is updated when it closes."""
    from IPython.display import display
    from tqdm.auto import tqdm

    class NotebookBar(tqdm):
        def __init__(self, *args, **options):
            super().__init__(*args, display=False, **options)
            self._handle = None if self.disable else display(self.container, display_id=True)

        def close(self):
            super().close()
            handle, self._handle = getattr(self, "_handle", None), None
            if handle is not None:  # once: close() also runs when the bar is deleted
                handle.update(self.container)

    return NotebookBar
