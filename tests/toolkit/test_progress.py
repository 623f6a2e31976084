"""autodiff_lib.progress: a bar whose saved notebook output is its final state."""

import nbformat
from nbclient import NotebookClient
from nbformat import v4
from tqdm.std import tqdm as text_bar

from autodiff_lib.progress import progress_bar


def test_outside_a_notebook_it_is_tqdms_text_bar():
    bar = progress_bar(range(5), desc="counting", disable=True)
    assert isinstance(bar, text_bar) and list(bar) == [0, 1, 2, 3, 4]


def test_in_a_notebook_the_saved_text_shows_the_finished_bar():
    """Run in a kernel as a notebook is: the output kept has the final count in its plain-text
    copy (what GitHub and the feedback HTML show) and still the widget for JupyterLab."""
    source = """
from autodiff_lib.progress import progress_bar
for _ in progress_bar(range(7), desc="looping"):
    pass
bar = progress_bar(total=3, desc="by hand")
bar.update(3)
bar.close()
hidden = list(progress_bar(range(2), disable=True))
"""
    nb = v4.new_notebook(cells=[v4.new_code_cell(source)])
    NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    outputs = nb.cells[0].outputs
    texts = [output.data["text/plain"] for output in outputs]
    assert len(texts) == 2, texts  # a disabled bar shows nothing
    assert texts[0].startswith("looping: 100%") and "7/7" in texts[0], texts[0]
    assert texts[1].startswith("by hand: 100%") and "3/3" in texts[1], texts[1]
    assert all("application/vnd.jupyter.widget-view+json" in output.data for output in outputs)
    nbformat.validate(nb)
