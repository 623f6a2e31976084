// Part 01 in C++: Newton's method against gradient descent with the bold-driver step size, on
// the quadratic of source/01_newton_vs_gd, printing what the notebook prints.
//
//     part01_newton_vs_gd DATA [FIGURES]
//
// DATA is the folder cpp/examples/make_data.py wrote (the quadratic comes from numpy, not from a
// second copy of its numbers here); FIGURES, if given, receives every figure as "name value"
// with all its digits, for tests/test_cpp_examples.py. The optimizers are the notebook's: Newton
// as autodiff_lib.newton, gradient descent as the reference solution of exercise 2.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xnpy.hpp>

#include "autodiff/autodiff.hpp"

using namespace autodiff;

namespace {

using Objective = std::function<Tensor(const Tensor&)>;

// What an optimizer did: the final point, the loss after every step (losses[0] = f(x0)).
struct Result {
    Array x;
    std::vector<double> losses;
    bool converged = false;
    int steps() const { return static_cast<int>(losses.size()) - 1; }
};

// ‖g‖ (a name of its own: an unqualified norm(g) would find xt::norm, elementwise, by ADL)
double gradient_norm(const Array& g) { return xt::linalg::norm(g); }

// f(x) = ½ (x − x*)ᵀ A (x − x*), written with the library's operations (autodiff_lib.landscapes).
Objective quadratic(const Array& A, const Array& x_star) {
    return [A, x_star](const Tensor& x) {
        const Tensor d = x - x_star;
        return 0.5 * sum(d * matmul(A, d));
    };
}

// x ← x − step_size · H(x)⁻¹ ∇f(x) until ‖∇f‖ ≤ tol (autodiff_lib.optimizers.newton).
Result newton(const Objective& f, Array x, double tol, int max_steps = 100, double step_size = 1.0) {
    const auto value_and_grad_f = value_and_grad(f);
    const auto hessian_f = hessian(f);
    auto [loss, g] = value_and_grad_f(x);
    Result result{x, {loss}, false};
    for (int step = 1; step <= max_steps && gradient_norm(g) > tol; ++step) {
        const Array H = hessian_f(x);
        const Array direction = xt::linalg::solve(H, g);
        x = x - step_size * direction;
        std::tie(loss, g) = value_and_grad_f(x);
        result.losses.push_back(loss);
    }
    result.x = x;
    result.converged = gradient_norm(g) <= tol;
    return result;
}

// Gradient descent from x0 with η = step_size; adaptive: the bold driver of exercise 2 (a step
// that lowers f is taken and η grows, one that does not is undone and η shrinks); otherwise every
// step is taken with the same η.
Result gradient_descent(const Objective& f, Array x, double step_size, double tol, int max_steps,
                        bool adaptive = true, double grow = 1.2, double shrink = 0.5) {
    const auto value_and_grad_f = value_and_grad(f);
    auto [loss, g] = value_and_grad_f(x);
    Result result{x, {loss}, false};
    for (int step = 0; step < max_steps && gradient_norm(g) > tol; ++step) {
        const Array x_new = x - step_size * g;
        auto [loss_new, g_new] = value_and_grad_f(x_new);
        const bool improved = loss_new < loss;
        if (improved || !adaptive) {
            x = x_new;
            loss = loss_new;
            g = g_new;
        }
        if (adaptive) step_size *= improved ? grow : shrink;
        result.losses.push_back(loss);
    }
    result.x = x;
    result.converged = gradient_norm(g) <= tol;
    return result;
}

// The fastest of a few runs, in seconds (the least disturbed by other processes).
double best_time(const std::function<void()>& run, int repeats = 5) {
    double best = std::numeric_limits<double>::infinity();
    for (int i = 0; i < repeats; ++i) {
        const auto start = std::chrono::steady_clock::now();
        run();
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    return best;
}

const char* yes_no(bool b) { return b ? "True" : "False"; }

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s DATA [FIGURES]  (DATA: written by cpp/examples/make_data.py)\n", argv[0]);
        return 2;
    }
    const std::string data = std::string(argv[1]) + "/part01/";
    std::ofstream figures(argc > 2 ? argv[2] : "/dev/null");
    figures.precision(17);
    const Array A = xt::load_npy<double>(data + "A.npy");
    const Array x_star = xt::load_npy<double>(data + "x_star.npy");
    const Array x0 = xt::load_npy<double>(data + "x0.npy");
    const Objective f = quadratic(A, x_star);

    const Array eigenvalues = xt::linalg::eigvalsh(A);
    std::printf("eigenvalues of A: [%.4f %.4f]\n", eigenvalues(0), eigenvalues(1));
    std::printf("condition number: %.1f\n", eigenvalues(1) / eigenvalues(0));
    std::printf("f(x0) = %.4f\n", f(x0).value()());
    figures << "f(x0) " << f(x0).value()() << '\n';

    const Result newton_result = newton(f, x0, 1e-8);
    std::printf("\nNewton: steps: %d  converged: %s  x = [%.4f %.4f]\n", newton_result.steps(),
                yes_no(newton_result.converged), newton_result.x(0), newton_result.x(1));

    std::printf("\nfixed step sizes, 200 steps:\n");
    for (double eta : {0.2, 0.01, 0.15}) {
        const Result r = gradient_descent(f, x0, eta, 1e-6, 200, false);
        std::printf("eta = %-4g  converged: %-5s  steps: %3d  f(x) = %.2e\n", eta, yes_no(r.converged),
                    r.steps(), r.losses.back());
        figures << "fixed " << eta << " steps " << r.steps() << " loss " << r.losses.back() << '\n';
    }

    const double tol = 1e-8;
    const std::vector<std::pair<std::string, std::function<Result()>>> methods = {
        {"Newton", [&] { return newton(f, x0, tol); }},
        {"gradient descent", [&] { return gradient_descent(f, x0, 0.01, tol, 10000); }},
    };
    std::printf("\n%-17s %6s %11s %11s %11s\n", "", "steps", "rules/step", "time/step", "total time");
    for (const auto& [name, run] : methods) {
        Result result;
        std::uint64_t rules = 0;
        {
            auto ops = count_operations();
            result = run();
            rules = ops.rule_evaluations;
        }
        const double total = best_time([&run] { run(); });
        const int steps = result.steps();
        std::printf("%-17s %6d %11.1f %8.3f ms %8.3f ms\n", name.c_str(), steps,
                    static_cast<double>(rules) / steps, 1e3 * total / steps, 1e3 * total);
        figures << name << " steps " << steps << " rules " << rules << " converged " << result.converged
                << " x0 " << result.x(0) << " x1 " << result.x(1) << " loss " << result.losses.back()
                << " seconds_per_step " << total / steps << '\n';
    }
    return 0;
}
