// Checking derivatives against central differences (autodiff_lib/engine/checking.py).
#include "autodiff/checking.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>

#include <xtensor/xrandom.hpp>

#include "autodiff/differentiation.hpp"
#include "autodiff/primitives.hpp"

namespace autodiff {

GradCheckReport check_grad(const Function& f, const Array& x, const GradCheckOptions& options,
                           const std::string& name) {
    std::mt19937 engine(options.seed);
    std::normal_distribution<double> normal;
    const auto draw = [&](const auto& shape) {
        Array out = xt::zeros<double>(shape);
        for (double& value : out) value = normal(engine);
        return out;
    };
    GradCheckReport report;
    report.order = options.order;
    Function fun = f;
    for (int k = 1; k <= options.order; ++k) {
        const auto y_shape = fun(x).shape();
        for (int d = 0; d < options.directions; ++d) {
            const Array v = draw(x.shape());
            const Array u = draw(y_shape);
            const auto along_u = [&fun, &u](const Tensor& z) { return sum(fun(z) * u); };
            const Array gradient = grad(along_u)(x);
            const double reverse = xt::sum(gradient * v)();
            const Array plus = fun(Array(x + options.eps * v)).value();
            const Array minus = fun(Array(x - options.eps * v)).value();
            const double numeric = xt::sum(u * (plus - minus))() / (2 * options.eps);
            const double error = std::abs(reverse - numeric);
            const double scale = std::max({std::abs(reverse), std::abs(numeric), 1e-300});
            report.max_abs_error = std::max(report.max_abs_error, error);
            report.max_rel_error = std::max(report.max_rel_error, error / scale);
            if (error > options.atol + options.rtol * std::abs(numeric)) {
                std::ostringstream message;
                message.precision(10);
                message << "check_grad: order-" << k << " derivative of " << name
                        << " is off: reverse mode gives " << reverse << ", central differences "
                        << numeric << " (absolute error " << error << ", relative " << error / scale
                        << "; tolerance " << options.atol << " + " << options.rtol << "·|value|)";
                throw GradientCheckError(message.str());
            }
        }
        fun = jacobian(fun);
    }
    return report;
}

}  // namespace autodiff
