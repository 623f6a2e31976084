// Part 03 in C++: the teacher-student MLP 1→8→8→1 of source/03_deep_learning, trained by
// mini-batch gradient descent (1000 epochs of 10 batches of 20 samples) to the
// noise floor, printing what the notebook prints.
//
//     part03_deep_learning DATA [FIGURES]
//
// DATA is the folder cpp/examples/make_data.py wrote: the samples, the teacher's and the initial
// weights, the order of the samples in every epoch and the step size, all drawn by numpy as the notebook draws
// them (xtensor's random streams are not numpy's). FIGURES, if given, receives every figure as
// "name value" with all its digits, for tests/test_cpp_examples.py.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <xtensor/xmath.hpp>
#include <xtensor/xnpy.hpp>
#include <xtensor/xview.hpp>

#include "autodiff/autodiff.hpp"

using namespace autodiff;

namespace {

using Params = std::vector<Array>;
const std::vector<std::string> NAMES = {"W1", "b1", "W2", "b2", "W3", "b3"};

// The notebook's forward: h_k = tanh(h_{k-1} W_k + b_k), the last layer linear.
Tensor forward(const std::vector<Tensor>& params, const Tensor& x) {
    Tensor h = x;
    const std::size_t layers = params.size() / 2;
    for (std::size_t k = 0; k < layers; ++k) {
        h = matmul(h, params[2 * k]) + params[2 * k + 1];
        if (k + 1 < layers) h = tanh(h);
    }
    return h;
}

Tensor mse(const Tensor& prediction, const Tensor& target) {
    return mean(power(prediction - target, 2.0));
}

Tensor loss(const std::vector<Tensor>& params, const Tensor& x, const Tensor& y) {
    return mse(forward(params, x), y);
}

double loss_value(const Params& params, const Array& x, const Array& y) {
    return loss(std::vector<Tensor>(params.begin(), params.end()), x, y).value()();
}

// RMAE = MAE(prediction) / MAE(truth) − 1 on the same samples (autodiff_lib.metrics.rmae).
double rmae(const Array& prediction, const Array& truth, const Array& target) {
    return xt::mean(xt::abs(prediction - target))() / xt::mean(xt::abs(truth - target))() - 1.0;
}

Array predict(const Params& params, const Array& x) {
    return forward(std::vector<Tensor>(params.begin(), params.end()), x).value();
}

Params load_params(const std::string& folder, const std::string& prefix) {
    Params params;
    for (const std::string& name : NAMES) params.push_back(xt::load_npy<double>(folder + prefix + name + ".npy"));
    return params;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s DATA [FIGURES]  (DATA: written by cpp/examples/make_data.py)\n", argv[0]);
        return 2;
    }
    const std::string data = std::string(argv[1]) + "/part03/";
    std::ofstream figures(argc > 2 ? argv[2] : "/dev/null");
    figures.precision(17);
    const Array x = xt::load_npy<double>(data + "x.npy");
    const Array y = xt::load_npy<double>(data + "y.npy");
    const Array clean = xt::load_npy<double>(data + "clean.npy");
    const Params true_params = load_params(data, "true_");
    const Params initial = load_params(data, "");
    const xt::xarray<std::int64_t> batches = xt::load_npy<std::int64_t>(data + "batches.npy");
    const double step_size = xt::load_npy<double>(data + "step_size.npy")();
    const std::size_t per_epoch = x.shape()[0] / batches.shape()[1];

    std::printf("x: %s  y: %s\n", shape_string(x.shape()).c_str(), shape_string(y.shape()).c_str());
    std::size_t weights = 0;
    for (std::size_t k = 0; k < initial.size(); k += 2) {
        std::printf("layer %zu: W %s, b %s\n", k / 2 + 1, shape_string(initial[k].shape()).c_str(),
                    shape_string(initial[k + 1].shape()).c_str());
        weights += initial[k].size() + initial[k + 1].size();
    }
    std::printf("number of weights: %zu\n", weights);
    const double initial_loss = loss_value(initial, x, y);
    const double true_loss = loss_value(true_params, x, y);
    std::printf("loss of the initial weights: %.4f\n", initial_loss);
    std::printf("loss of the true weights:    %.4f\n", true_loss);

    // train: for each mini-batch, the loss and its gradient on that batch only, then a step
    Array x_batch;
    Array y_batch;
    const auto value_and_grad_loss = value_and_grad(
        [&x_batch, &y_batch](const std::vector<Tensor>& p) { return loss(p, x_batch, y_batch); });
    Params params = initial;
    std::vector<double> losses;
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t batch = 0; batch < batches.shape()[0]; ++batch) {
        const auto rows = xt::view(batches, batch, xt::all());
        x_batch = xt::view(x, xt::keep(rows), xt::all());
        y_batch = xt::view(y, xt::keep(rows), xt::all());
        const auto [value, grads] = value_and_grad_loss(params);
        for (std::size_t i = 0; i < params.size(); ++i) params[i] = params[i] - step_size * grads[i];
        if ((batch + 1) % per_epoch == 0) losses.push_back(loss_value(params, x, y));
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const std::size_t steps = batches.shape()[0];
    std::printf("trained in %.2f s (%zu steps, %.1f µs per step)\n", seconds, steps, 1e6 * seconds / steps);

    const double rmae_before = rmae(predict(initial, x), clean, y);
    const double rmae_after = rmae(predict(params, x), clean, y);
    std::printf("loss after the first epoch %.4f, after the last %.4f, of the true weights %.4f\n",
                losses.front(), losses.back(), true_loss);
    std::printf("RMAE: %.2f before training, %.3f after\n", rmae_before, rmae_after);

    figures << "initial_loss " << initial_loss << "\ntrue_loss " << true_loss << "\nfirst_epoch_loss "
            << losses.front() << "\nlast_epoch_loss " << losses.back() << "\nrmae_before " << rmae_before
            << "\nrmae_after " << rmae_after << "\nepochs " << losses.size() << "\nsteps " << steps
            << "\nseconds_per_step " << seconds / steps << '\n';
    return 0;
}
