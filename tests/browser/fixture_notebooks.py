"""Small notebooks, independent of the lectures, that prove the browser checks themselves: one
whose sliders drive a plot and a printed value (the checks pass), and one with each fault the
checks must catch (they fail, naming the notebook, the cell and the error). Written with
nbformat into the served copy of the course at test time; never into the working tree."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

FOLDER = "browser_fixtures"

SLIDERS = [
    new_markdown_cell("# Sliders\nA plot and a printed value, each driven by a slider: $y = x^k$."),
    new_code_cell(
        "import ipywidgets as widgets\nimport matplotlib.pyplot as plt\nimport numpy as np"
    ),
    new_code_cell(
        "@widgets.interact(k=widgets.IntSlider(value=2, min=1, max=6, description='power k'))\n"
        "def plot_power(k):\n"
        "    x = np.linspace(0, 1, 50)\n"
        "    plt.figure(figsize=(3, 2))\n"
        "    plt.plot(x, x**k)\n"
        "    plt.show()"
    ),
    new_code_cell(
        "step = widgets.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05, description='step')\n"
        "shown = widgets.Output()\n"
        "\n"
        "def show(change=None):\n"
        "    shown.clear_output()\n"
        "    with shown:\n"
        "        print(f'step squared: {step.value**2:.4f}')\n"
        "\n"
        "step.observe(show, names='value')\n"
        "show()\n"
        "widgets.VBox([step, shown])"
    ),
]

# Each fault, and the words the failure must contain.
FAULTS = {
    "error": (
        new_code_cell("def divide(a, b):\n    return a / b\n\ndivide(1, 0)"),
        ["ZeroDivisionError", "division by zero"],
    ),
    "idle slider": (
        new_code_cell(
            "import ipywidgets as widgets\nwidgets.IntSlider(value=3, description='idle')"
        ),
        ["'idle'", "changed no output"],
    ),
    "widget as text": (
        new_code_cell(
            "from IPython.display import display\n"
            "display({'text/plain': \"IntSlider(value=3, description='flat')\"}, raw=True)"
        ),
        ["shows only as text", "IntSlider(value=3"],
    ),
    "widget without model": (
        new_code_cell(
            "from IPython.display import display\n"
            "display({'application/vnd.jupyter.widget-view+json': {'model_id': 'no-such-model',\n"
            "         'version_major': 2, 'version_minor': 0}, 'text/plain': 'a widget'}, raw=True)"
        ),
        ["widget not drawn"],
    ),
}


def write(root: Path) -> dict[str, str]:
    """Write the fixture notebooks under ``root``/browser_fixtures; returns their paths
    relative to ``root``, by name."""
    folder = root / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    faults = [new_markdown_cell("# Faults the browser checks must catch")]
    faults += [cell for cell, _ in FAULTS.values()]
    paths = {}
    for name, cells in {"sliders": SLIDERS, "faults": faults}.items():
        path = folder / f"{name}.ipynb"
        nbformat.write(new_notebook(cells=cells, metadata=_kernel()), path)
        paths[name] = str(path.relative_to(root))
    return paths


def _kernel() -> dict:
    return {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    }
