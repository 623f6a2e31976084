"""plotting.slider where no widget can be drawn: its output carries a static copy (the picture
of the value shown when the cell ran), and the feedback HTML of a graded notebook shows it."""

import base64
import re

import matplotlib
import nbformat
import numpy as np
from coursekit import ROOT
from nbformat import v4

from autodiff_lib.plotting import slider

matplotlib.use("Agg")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def draw(k):  # prints and plots, as the sliders of parts 06 to 09 do
    import matplotlib.pyplot as plt

    print(f"power {k}")
    plt.figure(figsize=(3, 2))
    plt.plot(np.linspace(0, 1, 5) ** k)


def test_the_output_of_a_slider_holds_the_widget_and_a_picture_of_the_value_it_shows():
    box = slider(draw, [1, 2, 3], "power k", value=2)
    control, shown = box.children
    bundle = box._repr_mimebundle_()
    assert bundle[WIDGET_VIEW]["model_id"] == box.model_id
    assert bundle["image/png"] == shown.outputs[1]["data"]["image/png"]
    assert bundle["text/plain"] == "power 2\n"
    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG")
    control.value = 3  # displayed again (say, as the cell's output once more): the new value
    moved = box._repr_mimebundle_()
    assert moved["text/plain"] == "power 3\n" and moved["image/png"] != bundle["image/png"]


def test_a_slider_that_only_prints_stands_as_its_text():
    box = slider(lambda k: print(f"k = {k}"), ["a", "b"], "letter", value="b")
    bundle = box._repr_mimebundle_()
    assert "image/png" not in bundle and bundle["text/plain"] == "k = b\n"


def test_the_feedback_html_of_a_graded_notebook_shows_the_sliders_picture():
    """Run as autograding runs a notebook (nbgrader's Execute, with this course's configuration),
    then turn it into HTML as feedback does: the slider's output is the picture of its value,
    not a widget stub that needs a widget manager and stored widget state."""
    from nbconvert import HTMLExporter
    from nbgrader.preprocessors import Execute
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    assert config.Execute.store_widget_state is False
    nb = v4.new_notebook(cells=[v4.new_code_cell(
        "import matplotlib.pyplot as plt\n"
        "from autodiff_lib.plotting import slider\n"
        "slider(lambda k: plt.plot([0, 1], [0, k]), [1, 2, 3], 'slope', value=3)"
    )])  # fmt: skip
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    Execute(config=config).preprocess(nb, {"metadata": {"path": str(ROOT)}})
    (output,) = nb.cells[0].outputs
    assert WIDGET_VIEW in output["data"] and "widgets" not in nb.metadata
    html, _ = HTMLExporter(template_name="classic").from_notebook_node(nbformat.from_dict(nb))
    pictures = re.findall(r'<img [^>]*src="data:image/png;base64,([^"]+)"', html)
    assert pictures == [output["data"]["image/png"]]
    assert WIDGET_VIEW not in html  # no stub of a widget that cannot be drawn
