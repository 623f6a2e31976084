"""A small multilayer perceptron (MLP): its weights are a plain list of arrays.

Layer k maps ``h ↦ h W_k + b_k``; every layer but the last is followed by ``tanh``:

    h_0 = x,   h_k = tanh(h_{k-1} W_k + b_k)  (k < L),   output = h_{L-1} W_L + b_L.

``params = [W_1, b_1, W_2, b_2, ..., W_L, b_L]`` with ``W_k`` of shape (n_{k-1}, n_k) and ``b_k``
of shape (n_k,), for layer sizes ``[n_0, ..., n_L]``. Inputs are rows: ``x`` has shape
(samples, n_0) and the output (samples, n_L). A list of arrays is all ``value_and_grad`` needs:
the gradient comes back as a list of arrays of the same shapes.
"""

from __future__ import annotations

import numpy as np

from .engine.primitives import matmul, tanh

__all__ = ["init_mlp", "layer_sizes", "mlp"]


def init_mlp(sizes, seed=0, weight_scale=1.0, bias_scale=0.0):
    """Random weights for an MLP with layer sizes ``sizes`` (``[n_0, ..., n_L]``).

    ``W_k`` has independent normal entries of standard deviation ``weight_scale / √n_{k-1}``, so
    that every pre-activation has a variance of about ``weight_scale²`` whatever the width (the
    LeCun initialization for ``weight_scale = 1``); biases are normal with standard deviation
    ``bias_scale`` (zero by default). ``seed`` is an int or a ``numpy.random.Generator``.
    """
    sizes = [int(n) for n in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"init_mlp: need at least two positive layer sizes, got {sizes}")
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        params.append(rng.normal(scale=weight_scale / np.sqrt(n_in), size=(n_in, n_out)))
        params.append(rng.normal(scale=bias_scale, size=n_out) if bias_scale else np.zeros(n_out))
    return params


def layer_sizes(params):
    """``[n_0, ..., n_L]`` of the weights ``params`` (checking that consecutive shapes fit)."""
    if len(params) < 2 or len(params) % 2:
        raise ValueError(
            f"an MLP's params are [W_1, b_1, ..., W_L, b_L]: an even, non-zero number of "
            f"arrays, got {len(params)}"
        )
    sizes = [np.shape(params[0])[0]]
    for k in range(0, len(params), 2):
        W, b = np.shape(params[k]), np.shape(params[k + 1])
        if len(W) != 2 or W[0] != sizes[-1] or b != (W[1],):
            raise ValueError(
                f"layer {k // 2 + 1}: W of shape {W} and b of shape {b} do not follow a layer "
                f"of {sizes[-1]} units (expected W of shape ({sizes[-1]}, n) and b of shape (n,))"
            )
        sizes.append(W[1])
    return sizes


def mlp(params, x):
    """The MLP's output for inputs ``x`` (shape (samples, n_0)): tanh hidden layers, linear
    output layer. Works on plain arrays and on Tensors (then it is differentiable)."""
    h = x
    last = len(params) - 2
    for k in range(0, len(params), 2):
        h = matmul(h, params[k]) + params[k + 1]
        if k < last:
            h = tanh(h)
    return h
