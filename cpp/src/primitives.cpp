// The primitives: each forward computation, with its derivative rule declared right below it
// (autodiff_lib/engine/primitives.py, rule for rule).
//
// This is the whole calculus of the library. A rule is [](G g, Ans ans, Args x, Attr a) {...}:
// the vector-Jacobian product that turns the differential g of the output into the differential
// of one input. g may carry extra leading *batch* axes (several differentials at once, used by
// jacobian, hessian and diff), so rules index axes from the right. Broadcasting is undone by the
// engine, not here. Raw xtensor appears only in forward computations; rules use Tensors, so that
// a recorded sweep builds graph nodes that can be differentiated again.
#include "autodiff/primitives.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <sstream>
#include <stdexcept>

#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xadapt.hpp>
#include <xtensor/xbroadcast.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xoperation.hpp>
#include <xtensor/xmanipulation.hpp>
#include <xtensor/xstrided_view.hpp>

#include "autodiff/registry.hpp"

#ifdef AUTODIFF_HAVE_LIBMVEC  // glibc's vector math library, found by CMake on x86-64
#include <immintrin.h>

// Each function is compiled for its instruction set (the target pragmas) and called only after
// the processor was asked whether it has it; the rest of the file keeps the build's flags.
namespace autodiff::libmvec {
namespace {
#pragma GCC push_options
#pragma GCC target("avx2,fma")
extern "C" __m256d _ZGVdN4v_tanh(__m256d);  // libmvec's name for tanh on 4 doubles (AVX2)

Array tanh_avx2(const Array& x) {
    Array out(x.shape());
    const double* in = x.data();
    double* o = out.data();
    std::size_t i = 0;
    for (; i + 4 <= x.size(); i += 4) _mm256_storeu_pd(o + i, _ZGVdN4v_tanh(_mm256_loadu_pd(in + i)));
    for (; i < x.size(); ++i) o[i] = std::tanh(in[i]);
    return out;
}
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f")
extern "C" __m512d _ZGVeN8v_tanh(__m512d);  // and on 8 doubles (AVX-512)

Array tanh_avx512(const Array& x) {
    Array out(x.shape());
    const double* in = x.data();
    double* o = out.data();
    std::size_t i = 0;
    for (; i + 8 <= x.size(); i += 8) _mm512_storeu_pd(o + i, _ZGVeN8v_tanh(_mm512_loadu_pd(in + i)));
    for (; i < x.size(); ++i) o[i] = std::tanh(in[i]);
    return out;
}
#pragma GCC pop_options
}  // namespace
}  // namespace autodiff::libmvec
#endif

namespace autodiff {

using namespace signature;

namespace {

// -- shapes ---------------------------------------------------------------------------------------
Shape shape_of(const Array::shape_type& shape) { return Shape(shape.begin(), shape.end()); }

std::size_t batch_ndim(const Tensor& g, const Tensor& ans) { return g.ndim() - ans.ndim(); }

// g.shape[:n] + tail: a shape for a differential with g's n batch axes in front.
template <class S>
Shape with_batch(const Tensor& g, std::size_t n, const S& tail) {
    Shape out(g.shape().begin(), g.shape().begin() + static_cast<std::ptrdiff_t>(n));
    out.insert(out.end(), tail.begin(), tail.end());
    return out;
}

std::size_t product(const Shape& shape) {
    return std::accumulate(shape.begin(), shape.end(), std::size_t{1}, std::multiplies<>());
}

Tensor reshape_to(const Tensor& x, const Shape& shape);  // the reshape primitive, shape checked

bool broadcast_shapes(const Shape& a, const Shape& b, Shape& out);  // numpy's rule, below

// -- broadcasting loops ---------------------------------------------------------------------------
// Without xsimd, xtensor assigns a broadcast expression (x W + b, 1 − ans², a transpose) element
// by element through its generic steppers, tens of instructions per element for one addition:
// they made the MLP of benchmarks/ six times slower than numpy. numpy walks the output row-major
// with a tight innermost loop instead, and so do these: every operand gets a stride per output
// axis (0 where it is broadcast), axes that every operand steps over as one run are merged, and
// the innermost axis is a plain loop (vectorized by the compiler where the strides are 0 or 1).
constexpr std::size_t kMaxOperands = 2;

struct Walk {
    Shape shape;                                                // the output's axes, merged
    std::array<std::vector<std::ptrdiff_t>, kMaxOperands> strides;  // in elements, per operand
};

// The strides of x (row-major, contiguous) read along `shape`, which x broadcasts to.
std::vector<std::ptrdiff_t> broadcast_strides(const Array& x, const Shape& shape) {
    std::vector<std::ptrdiff_t> out(shape.size(), 0);
    std::ptrdiff_t stride = 1;
    for (std::size_t i = x.dimension(); i-- > 0;) {
        const std::size_t axis = shape.size() - x.dimension() + i;
        if (x.shape()[i] != 1) out[axis] = stride;
        stride *= static_cast<std::ptrdiff_t>(x.shape()[i]);
    }
    return out;
}

// The walk over `shape`: axes of length 1 dropped, and each axis merged into the one before it
// wherever every operand steps over the two as one run (a contiguous array becomes one row).
Walk merged(const Shape& shape, std::array<std::vector<std::ptrdiff_t>, kMaxOperands> strides,
            std::size_t operands) {
    Walk walk;
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] == 1) continue;  // a length-1 axis moves nothing
        bool joins = !walk.shape.empty();
        for (std::size_t k = 0; joins && k < operands; ++k) {
            joins = walk.strides[k].back() == strides[k][i] * static_cast<std::ptrdiff_t>(shape[i]);
        }
        if (joins) {
            walk.shape.back() *= shape[i];
            for (std::size_t k = 0; k < operands; ++k) walk.strides[k].back() = strides[k][i];
        } else {
            walk.shape.push_back(shape[i]);
            for (std::size_t k = 0; k < operands; ++k) walk.strides[k].push_back(strides[k][i]);
        }
    }
    if (walk.shape.empty()) {  // a single element
        walk.shape.push_back(1);
        for (std::size_t k = 0; k < operands; ++k) walk.strides[k].push_back(0);
    }
    return walk;
}

// Calls row(offsets, length, inner strides) for every row of the walk's innermost axis.
template <class Row>
void for_each_row(const Walk& walk, std::size_t operands, Row row) {
    const std::size_t last = walk.shape.size() - 1;
    std::vector<std::size_t> index(last, 0);
    std::array<std::ptrdiff_t, kMaxOperands> offset{};
    std::array<std::ptrdiff_t, kMaxOperands> inner{};
    for (std::size_t k = 0; k < operands; ++k) inner[k] = walk.strides[k][last];
    std::size_t rows = 1;
    for (std::size_t i = 0; i < last; ++i) rows *= walk.shape[i];
    for (std::size_t r = 0; r < rows; ++r) {
        row(offset, walk.shape[last], inner);
        for (std::size_t i = last; i-- > 0;) {  // the next index, odometer-style
            for (std::size_t k = 0; k < operands; ++k) offset[k] += walk.strides[k][i];
            if (++index[i] < walk.shape[i]) break;
            for (std::size_t k = 0; k < operands; ++k) {
                offset[k] -= walk.strides[k][i] * static_cast<std::ptrdiff_t>(walk.shape[i]);
            }
            index[i] = 0;
        }
    }
}

// A new array of x's shape, its values to be written. Made from a shape, an xt::xarray computes
// its strides into containers it first zero-fills, about 200 instructions before the data; a copy
// of x copies them instead. On a few elements copying the values too costs less than that.
constexpr std::size_t few_elements = 16;

Array empty_like(const Array& x) { return x.size() <= few_elements ? Array(x) : Array(x.shape()); }

// op(a, b) elementwise where no walk is needed: equal shapes, or one operand a number that the
// other's shape already covers. These are the common cases, and on the one-element arrays of a
// long chain the walk's bookkeeping would cost more than the arithmetic.
bool covers(const Array& x, const Array& number) {
    return number.size() == 1 && number.dimension() <= x.dimension();
}

template <class Op>
Array apply_unwalked(const Array& a, const Array& b, Op op) {
    const bool equal_shapes = a.shape() == b.shape();
    Array out = empty_like(equal_shapes || covers(a, b) ? a : b);
    const double* pa = a.data();
    const double* pb = b.data();
    double* po = out.data();
    const std::size_t n = out.size();
    if (equal_shapes) {
        for (std::size_t j = 0; j < n; ++j) po[j] = op(pa[j], pb[j]);
    } else if (covers(a, b)) {
        const double v = pb[0];
        for (std::size_t j = 0; j < n; ++j) po[j] = op(pa[j], v);
    } else {
        const double u = pa[0];
        for (std::size_t j = 0; j < n; ++j) po[j] = op(u, pb[j]);
    }
    return out;
}

// op(a, b) elementwise with numpy's broadcasting: the forward computation of every binary
// arithmetic primitive. Shapes that do not broadcast throw xt::broadcast_error, as xtensor does.
template <class Op>
Array broadcast_apply(const Array& a, const Array& b, Op op) {
    if (a.shape() == b.shape() || covers(a, b) || covers(b, a)) return apply_unwalked(a, b, op);
    Shape shape;
    if (!broadcast_shapes(shape_of(a.shape()), shape_of(b.shape()), shape)) {
        throw xt::broadcast_error("");
    }
    Array out = Array::from_shape(shape);
    if (out.size() == 0) return out;
    const Walk walk =
        merged(shape, {broadcast_strides(a, shape), broadcast_strides(b, shape)}, 2);
    const double* pa = a.data();
    const double* pb = b.data();
    double* po = out.data();
    for_each_row(walk, 2, [&](const auto& offset, std::size_t n, const auto& inner) {
        const double* ra = pa + offset[0];
        const double* rb = pb + offset[1];
        // Operands are contiguous, so a row reads each with a stride of 1 or 0 (broadcast): both
        // run, or one is a number, each a loop the compiler vectorizes; or both are numbers.
        if (inner[0] == 1 && inner[1] == 1) {
            for (std::size_t j = 0; j < n; ++j) po[j] = op(ra[j], rb[j]);
        } else if (inner[0] == 1) {
            const double v = rb[0];
            for (std::size_t j = 0; j < n; ++j) po[j] = op(ra[j], v);
        } else if (inner[1] == 1) {
            const double u = ra[0];
            for (std::size_t j = 0; j < n; ++j) po[j] = op(u, rb[j]);
        } else {
            po[0] = op(ra[0], rb[0]);  // n is 1: a single element
        }
        po += n;
    });
    return out;
}

// x with its axes in `order`, copied row by row of the output (a transpose read through
// xtensor's view goes through the same slow steppers).
Array transposed(const Array& x, const std::vector<std::size_t>& order) {
    Shape shape(order.size());
    std::vector<std::ptrdiff_t> x_strides(x.dimension());
    std::ptrdiff_t stride = 1;
    for (std::size_t i = x.dimension(); i-- > 0;) {
        x_strides[i] = x.shape()[i] == 1 ? 0 : stride;
        stride *= static_cast<std::ptrdiff_t>(x.shape()[i]);
    }
    std::vector<std::ptrdiff_t> read(order.size());
    for (std::size_t i = 0; i < order.size(); ++i) {
        shape[i] = x.shape()[order[i]];
        read[i] = x_strides[order[i]];
    }
    Array out = Array::from_shape(shape);
    if (out.size() == 0) return out;
    const double* px = x.data();
    double* po = out.data();
    for_each_row(merged(shape, {read, {}}, 1), 1,
                 [&](const auto& offset, std::size_t n, const auto& inner) {
                     const double* rx = px + offset[0];
                     for (std::size_t j = 0; j < n; ++j) po[j] = rx[j * inner[0]];
                     po += n;
                 });
    return out;
}

// f(x) elementwise, for xtensor's function objects (xt::math::sin_fun is what xt::sin applies). On
// a few elements, xtensor's assignment of an expression (its shape checks and steppers, with
// xsimd its batches and their tails) costs several times the arithmetic: those get a plain loop
// of the same function. More elements go through the expression xt::sin(x) builds, which xsimd
// vectorizes where it is on.

template <class Function>
Array on_each(const Array& x, Function f) {
    Array out = empty_like(x);
    const double* in = x.data();
    double* o = out.data();
    for (std::size_t i = 0; i < x.size(); ++i) o[i] = f(in[i]);
    return out;  // the only return: built in place (a moved xt::xarray costs its strides)
}

template <class Function>
Array elementwise(const Array& x) {
    if (x.size() <= few_elements) return on_each(x, Function());
    return xt::xfunction<Function, const Array&>(Function(), x);
}

// -- arithmetic -----------------------------------------------------------------------------------
const Primitive add_primitive = defvjp(
    primitive("add",
              [](Args x, Attr) -> Array {
                  return broadcast_apply(x[0].value(), x[1].value(), std::plus<>());
              }),
    [](G g, Ans, Args, Attr) { return g; },
    [](G g, Ans, Args, Attr) { return g; });

const Primitive subtract_primitive = defvjp(
    primitive("subtract",
              [](Args x, Attr) -> Array {
                  return broadcast_apply(x[0].value(), x[1].value(), std::minus<>());
              }),
    [](G g, Ans, Args, Attr) { return g; },
    [](G g, Ans, Args, Attr) { return -g; });

const Primitive multiply_primitive = defvjp(
    primitive("multiply",
              [](Args x, Attr) -> Array {
                  return broadcast_apply(x[0].value(), x[1].value(), std::multiplies<>());
              }),
    [](G g, Ans, Args x, Attr) { return g * x[1]; },
    [](G g, Ans, Args x, Attr) { return g * x[0]; });

const Primitive divide_primitive = defvjp(
    primitive("divide",
              [](Args x, Attr) -> Array {
                  return broadcast_apply(x[0].value(), x[1].value(), std::divides<>());
              }),
    [](G g, Ans, Args x, Attr) { return g / x[1]; },
    [](G g, Ans ans, Args x, Attr) { return -g * ans / x[1]; });

const Primitive negative_primitive = defvjp(
    primitive("negative", [](Args x, Attr) -> Array { return -x[0].value(); }),
    [](G g, Ans, Args, Attr) { return -g; });

// y − 1, but 1 where y = 0: there y·x^(y−1) is 0, and x^(−1) would give 0·inf at x = 0.
Tensor lowered(const Tensor& y) { return where(not_equal(y, 0.0), y - 1.0, 1.0); }

// x where x > 0, else 1 at x = 0 (0^y has slope 0 in y) and nan at x < 0 (no real slope).
Tensor log_base(const Tensor& x) {
    const Array fallback =
        xt::where(xt::equal(x.value(), 0.0), 1.0, std::numeric_limits<double>::quiet_NaN());
    return where(x > 0.0, x, constant(fallback));
}

const Primitive power_primitive = defvjp(
    primitive("power",
              [](Args x, Attr) -> Array {
                  // x² and x¹ (a square and its rule) without libm's pow, about 250
                  // instructions an element; numpy takes the same shortcut, exact in both.
                  return broadcast_apply(x[0].value(), x[1].value(), [](double u, double v) {
                      return v == 2.0 ? u * u : v == 1.0 ? u : std::pow(u, v);
                  });
              }),
    [](G g, Ans, Args x, Attr) { return g * x[1] * power(x[0], lowered(x[1])); },
    [](G g, Ans ans, Args x, Attr) { return g * ans * log(log_base(x[0])); });

// -- elementwise functions ------------------------------------------------------------------------
// log and sqrt refuse negative numbers, as the Python library does (numpy would return nan).
void check_non_negative(const char* name, const Array& x) {
    if (x.size() == 0) return;
    const double lowest = *std::min_element(x.begin(), x.end());
    if (lowest < 0.0) {
        std::ostringstream message;
        message << name << ": input must be non-negative, got a minimum of " << lowest
                << " (shape " << shape_string(x.shape()) << ")";
        throw std::domain_error(message.str());
    }
}

const Primitive exp_primitive = defvjp(
    primitive("exp",
              [](Args x, Attr) -> Array { return elementwise<xt::math::exp_fun>(x[0].value()); }),
    [](G g, Ans ans, Args, Attr) { return g * ans; });

const Primitive log_primitive = defvjp(
    primitive("log",
              [](Args x, Attr) -> Array {
                  check_non_negative("log", x[0].value());
                  return elementwise<xt::math::log_fun>(x[0].value());
              }),
    [](G g, Ans, Args x, Attr) { return g / x[0]; });

const Primitive sqrt_primitive = defvjp(
    primitive("sqrt",
              [](Args x, Attr) -> Array {
                  check_non_negative("sqrt", x[0].value());
                  return elementwise<xt::math::sqrt_fun>(x[0].value());
              }),
    [](G g, Ans ans, Args, Attr) { return g * 0.5 / ans; });

// 1 − tanh²(x) cancels where tanh(x) rounds to ±1 (|x| ≳ 19 it is exactly 0, the true value
// 1.7e-17 at x = 20). Up to |x| = 5 it keeps all but 6e-13 of its relative precision; once some
// |x| is beyond, sech²(x) is computed from x instead, as 4e/(1 + e)² with e = exp(−2|x|), which
// neither cancels nor overflows, for those entries alone: computed for the whole array, its
// exp (libm's, one number at a time) made the MLP 64/256 of benchmarks/ take 1.7 times as long
// as soon as one hidden unit went beyond 5.
const double saturated = 1.0 / (std::cosh(5.0) * std::cosh(5.0));

// sech²(x) = 1 − t², given t = tanh(x) (of x's shape): from t up to |x| = 5, from x beyond.
Array sech_squared_forward(const Array& x, const Array& t) {
    Array s = empty_like(t);
    const double* px = x.data();
    const double* pt = t.data();
    double* ps = s.data();
    const double limit = saturated;  // locals: a store through ps could change neither
    const std::size_t n = s.size();
    for (std::size_t i = 0; i < n; ++i) {
        double v = 1.0 - pt[i] * pt[i];
        if (v < limit) {
            const double e = std::exp(-2.0 * std::abs(px[i]));
            v = 4.0 * e / ((1.0 + e) * (1.0 + e));
        }
        ps[i] = v;
    }
    return s;
}

const Primitive sech_squared_primitive = defvjp(  // t only helps: no rule for it
    primitive("sech_squared",
              [](Args x, Attr) -> Array {
                  if (x[0].shape() != x[1].shape()) {  // only tanh's rule calls it, with x's tanh
                      throw std::invalid_argument(input_error(
                          "sech_squared", "x and tanh(x) must have the same shape", x));
                  }
                  return sech_squared_forward(x[0].value(), x[1].value());
              }),
    [](G g, Ans ans, Args x, Attr) { return g * ans * x[1] * -2.0; },  // (sech²)' = −2 sech² tanh
    nullptr);

// tanh elementwise. libm's tanh takes one number at a time, about 10 ns each: on the MLP of
// benchmarks/ (16 384 of them per step) that alone was more than numpy's whole step, whose tanh
// is vectorized and picked at run time for the processor. glibc ships vectorized versions too
// (libmvec, 4 and 8 numbers at a time, within 4 units in the last place; 1 to 2 measured), so
// they are called where the processor has AVX-512 or AVX2, whatever the flags of this build.
Array tanh_values(const Array& x) {
#ifdef AUTODIFF_HAVE_LIBMVEC
    if (__builtin_cpu_supports("avx512f")) return libmvec::tanh_avx512(x);
    if (__builtin_cpu_supports("avx2")) return libmvec::tanh_avx2(x);
#endif
    return xt::tanh(x);
}

const Primitive tanh_primitive = defvjp(
    primitive("tanh", [](Args x, Attr) -> Array { return tanh_values(x[0].value()); }),
    [](G g, Ans ans, Args x, Attr) { return g * apply(sech_squared_primitive, {x[0], ans}); });

const Primitive sin_primitive = defvjp(
    primitive("sin",
              [](Args x, Attr) -> Array { return elementwise<xt::math::sin_fun>(x[0].value()); }),
    [](G g, Ans, Args x, Attr) { return g * cos(x[0]); });

const Primitive cos_primitive = defvjp(
    primitive("cos",
              [](Args x, Attr) -> Array { return elementwise<xt::math::cos_fun>(x[0].value()); }),
    [](G g, Ans, Args x, Attr) { return -g * sin(x[0]); });

const Primitive sinh_primitive = defvjp(
    primitive("sinh",
              [](Args x, Attr) -> Array { return elementwise<xt::math::sinh_fun>(x[0].value()); }),
    [](G g, Ans, Args x, Attr) { return g * cosh(x[0]); });

const Primitive cosh_primitive = defvjp(
    primitive("cosh",
              [](Args x, Attr) -> Array { return elementwise<xt::math::cosh_fun>(x[0].value()); }),
    [](G g, Ans, Args x, Attr) { return g * sinh(x[0]); });

// piecewise constant: no rule, its derivative is zero
const Primitive sign_primitive =
    primitive("sign", [](Args x, Attr) -> Array { return xt::sign(x[0].value()); });

const Primitive abs_primitive = defvjp(
    primitive("abs", [](Args x, Attr) -> Array { return xt::abs(x[0].value()); }),
    [](G g, Ans, Args x, Attr) { return g * sign(x[0]); });

// 1 where x wins, 0.5 on ties, 0 where y wins: the derivative of maximum w.r.t. x.
Tensor share_ties(const Tensor& x, const Tensor& y) { return (x > y) + 0.5 * equal(x, y); }

const Primitive maximum_primitive = defvjp(
    primitive("maximum",
              [](Args x, Attr) -> Array { return xt::maximum(x[0].value(), x[1].value()); }),
    [](G g, Ans, Args x, Attr) { return g * share_ties(x[0], x[1]); },
    [](G g, Ans, Args x, Attr) { return g * share_ties(x[1], x[0]); });

const Primitive where_primitive = defvjp(
    primitive("where",
              [](Args x, Attr) -> Array {
                  return xt::where(xt::not_equal(x[0].value(), 0.0), x[1].value(), x[2].value());
              }),
    nullptr,
    [](G g, Ans, Args x, Attr) { return where(x[0], g, 0.0); },
    [](G g, Ans, Args x, Attr) { return where(x[0], 0.0, g); });

// -- reductions -----------------------------------------------------------------------------------
// The axes of a reduction as sorted non-negative numbers (all of them for Axes()).
std::vector<std::size_t> normalized(const char* name, const Axes& axes, const Array& x) {
    const auto ndim = static_cast<std::ptrdiff_t>(x.dimension());
    std::vector<std::size_t> out;
    if (axes.all()) {
        out.resize(x.dimension());
        std::iota(out.begin(), out.end(), std::size_t{0});
        return out;
    }
    for (std::ptrdiff_t axis : axes.list()) {
        if (axis < -ndim || axis >= ndim) {
            throw std::invalid_argument(std::string(name) + ": axis " + std::to_string(axis) +
                                        " is out of bounds for a tensor of " +
                                        std::to_string(ndim) + " axes (got shape " +
                                        shape_string(x.shape()) + ")");
        }
        out.push_back(static_cast<std::size_t>(axis < 0 ? axis + ndim : axis));
    }
    std::sort(out.begin(), out.end());
    if (std::adjacent_find(out.begin(), out.end()) != out.end()) {
        throw std::invalid_argument(std::string(name) + ": an axis is listed twice");
    }
    return out;
}

// The shape of a reduction over `axes` with keepdims: 1 on the reduced axes.
Shape kept_shape(const Array::shape_type& shape, const std::vector<std::size_t>& axes) {
    Shape out(shape.begin(), shape.end());
    for (std::size_t axis : axes) out[axis] = 1;
    return out;
}

Array sum_values(const Array& x, const std::vector<std::size_t>& axes, bool keepdims) {
    if (axes.empty()) return x;
    if (keepdims) return xt::sum(x, axes, xt::keep_dims | xt::evaluation_strategy::immediate);
    return xt::sum(x, axes, xt::evaluation_strategy::immediate);
}

// The differential of a reduction's output, copied back over the axes it reduced.
Tensor spread(const Tensor& g, const Tensor& ans, const Tensor& x, const Axes& axes) {
    const std::size_t n = batch_ndim(g, ans);
    const Tensor kept = reshape_to(g, with_batch(g, n, kept_shape(x.shape(), normalized("sum", axes, x.value()))));
    return broadcast_to(kept, with_batch(g, n, x.shape()));
}

// size(part) / size(whole): the weight of each element in a mean.
double fraction(const Array& part, const Array& whole) {
    return static_cast<double>(part.size()) / static_cast<double>(std::max<std::size_t>(whole.size(), 1));
}

const Primitive sum_primitive = defvjp(
    primitive("sum",
              [](Args x, Attr a) -> Array {
                  return sum_values(x[0].value(), normalized("sum", a.axes, x[0].value()), a.keepdims);
              }),
    [](G g, Ans ans, Args x, Attr a) { return spread(g, ans, x[0], a.axes); });

const Primitive mean_primitive = defvjp(
    primitive("mean",
              [](Args x, Attr a) -> Array {
                  Array total = sum_values(x[0].value(), normalized("mean", a.axes, x[0].value()),
                                           a.keepdims);
                  return total * fraction(total, x[0].value());
              }),
    [](G g, Ans ans, Args x, Attr a) {
        return spread(g * fraction(ans.value(), x[0].value()), ans, x[0], a.axes);
    });

// -- shapes ---------------------------------------------------------------------------------------
const Primitive reshape_primitive = defvjp(
    primitive("reshape",
              [](Args x, Attr a) -> Array {
                  Array out = x[0].value();
                  out.reshape(a.shape);
                  return out;
              }),
    [](G g, Ans ans, Args x, Attr) {
        return reshape_to(g, with_batch(g, batch_ndim(g, ans), x[0].shape()));
    });

Tensor reshape_to(const Tensor& x, const Shape& shape) {
    Attributes attributes;
    attributes.shape = shape;
    return apply(reshape_primitive, {x}, std::move(attributes));
}

const Primitive transpose_primitive = defvjp(
    primitive("transpose",
              [](Args x, Attr a) -> Array { return transposed(x[0].value(), a.order); }),
    [](G g, Ans ans, Args x, Attr a) {
        const std::size_t n = batch_ndim(g, ans);
        std::vector<std::size_t> order(n + x[0].ndim());
        std::iota(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n), std::size_t{0});
        for (std::size_t i = 0; i < a.order.size(); ++i) order[n + a.order[i]] = n + i;  // inverse
        return transpose(g, order);
    });

// numpy's rule: shape broadcasts to target if, aligned from the right, each axis is 1 or equal,
// and the target has at least as many axes.
bool broadcasts_to(const Array::shape_type& shape, const Shape& target) {
    if (shape.size() > target.size()) return false;
    const std::size_t offset = target.size() - shape.size();
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] != 1 && shape[i] != target[offset + i]) return false;
    }
    return true;
}

const Primitive broadcast_to_primitive = defvjp(
    primitive("broadcast_to",
              [](Args x, Attr a) -> Array {
                  if (!broadcasts_to(x[0].shape(), a.shape)) {
                      throw std::invalid_argument("broadcast_to: cannot broadcast a tensor of shape " +
                                                  shape_string(x[0].shape()) + " to shape " +
                                                  shape_string(a.shape));
                  }
                  return xt::broadcast(x[0].value(), a.shape);
              }),
    [](G g, Ans, Args, Attr) { return g; });  // the engine sums the broadcast axes away

// -- indexing -------------------------------------------------------------------------------------
// Prefix an index with all() for the batch axes of a differential.
Index with_batch_axes(const Index& index, std::size_t n) {
    Index out(n, xt::all());
    out.insert(out.end(), index.begin(), index.end());
    return out;
}

const Primitive scatter_add_primitive = defvjp(
    primitive("scatter_add",
              [](Args x, Attr a) -> Array {
                  Array out = xt::zeros<double>(a.shape);
                  xt::strided_view(out, a.index) = x[0].value();  // ranges: no index repeats
                  return out;
              }),
    [](G g, Ans ans, Args, Attr a) {
        return getitem(g, with_batch_axes(a.index, batch_ndim(g, ans)));
    });

const Primitive getitem_primitive = defvjp(
    primitive("getitem",
              [](Args x, Attr a) -> Array { return xt::strided_view(x[0].value(), a.index); }),
    [](G g, Ans ans, Args x, Attr a) {
        const std::size_t n = batch_ndim(g, ans);
        return scatter_add(g, with_batch_axes(a.index, n), with_batch(g, n, x[0].shape()));
    });

// Integers checked against the axis they index (xtensor does not check them) and made
// non-negative; too many indices refused.
Index checked_index(const Index& index, const Array::shape_type& shape) {
    Index out = index;
    std::size_t axis = 0;
    const auto fail = [&](const std::string& reason) {
        std::ostringstream message;
        message << "getitem: " << reason << " (indexing a tensor of shape " << shape_string(shape)
                << ')';
        throw std::out_of_range(message.str());
    };
    for (auto& item : out) {
        if (xtl::get_if<xt::xnewaxis_tag>(&item) != nullptr) continue;
        if (xtl::get_if<xt::xellipsis_tag>(&item) != nullptr) {
            fail("an ellipsis is not supported: write xt::all() for each axis");
        }
        if (axis >= shape.size()) fail("too many indices");
        if (auto* integer = xtl::get_if<std::ptrdiff_t>(&item)) {
            const auto size = static_cast<std::ptrdiff_t>(shape[axis]);
            if (*integer < -size || *integer >= size) {
                fail("index " + std::to_string(*integer) + " is out of bounds for axis " +
                     std::to_string(axis) + " with size " + std::to_string(size));
            }
            if (*integer < 0) *integer += size;
        }
        ++axis;
    }
    return out;
}

// -- linear algebra -------------------------------------------------------------------------------
// x with its last two axes swapped (the matrix transpose of a stack of matrices).
Tensor swap_last(const Tensor& x) {
    if (x.ndim() == 2) return transpose(x);
    std::vector<std::size_t> order(x.ndim());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::swap(order[x.ndim() - 2], order[x.ndim() - 1]);
    return transpose(x, order);
}

Tensor matmul_stack(const Tensor& a, const Tensor& b);

const Primitive matmul_primitive = defvjp(
    primitive("matmul",
              [](Args x, Attr) -> Array { return matmul_values(x[0].value(), x[1].value()); }),
    [](G g, Ans, Args x, Attr) { return matmul_stack(g, swap_last(x[1])); },
    [](G g, Ans, Args x, Attr) { return matmul_stack(swap_last(x[0]), g); });

Tensor matmul_stack(const Tensor& a, const Tensor& b) { return apply(matmul_primitive, {a, b}); }

// numpy's broadcasting of two shapes (here: the stack axes of two matmul operands).
bool broadcast_shapes(const Shape& a, const Shape& b, Shape& out) {
    out.assign(std::max(a.size(), b.size()), 1);
    for (std::size_t i = 0; i < out.size(); ++i) {
        const std::size_t m = i < a.size() ? a[a.size() - 1 - i] : 1;
        const std::size_t n = i < b.size() ? b[b.size() - 1 - i] : 1;
        if (m != n && m != 1 && n != 1) return false;
        out[out.size() - 1 - i] = m == 1 ? n : m;  // not max: 1 against 0 gives 0
    }
    return true;
}

// The slice vector that picks matrix number `flat` of a stack of shape `stack` out of an operand
// whose own stack axes are `own` (broadcast: axes of length 1 always give index 0).
xt::xstrided_slice_vector matrix_of(std::size_t flat, const Shape& stack, const Shape& own) {
    std::vector<std::size_t> position(stack.size());
    for (std::size_t i = stack.size(); i-- > 0;) {
        position[i] = flat % stack[i];
        flat /= stack[i];
    }
    xt::xstrided_slice_vector slices;
    const std::size_t offset = stack.size() - own.size();
    for (std::size_t i = 0; i < own.size(); ++i) {
        slices.emplace_back(static_cast<std::ptrdiff_t>(own[i] == 1 ? 0 : position[offset + i]));
    }
    slices.emplace_back(xt::all());
    slices.emplace_back(xt::all());
    return slices;
}

}  // namespace

// -- the public functions -------------------------------------------------------------------------
Tensor add(const Tensor& x, const Tensor& y) { return apply(add_primitive, {x, y}); }
Tensor subtract(const Tensor& x, const Tensor& y) { return apply(subtract_primitive, {x, y}); }
Tensor multiply(const Tensor& x, const Tensor& y) { return apply(multiply_primitive, {x, y}); }
Tensor divide(const Tensor& x, const Tensor& y) { return apply(divide_primitive, {x, y}); }
Tensor negative(const Tensor& x) { return apply(negative_primitive, {x}); }
Tensor power(const Tensor& x, const Tensor& y) { return apply(power_primitive, {x, y}); }

Tensor operator-(const Tensor& x) { return negative(x); }

Tensor less(const Tensor& x, const Tensor& y) {
    return constant(xt::cast<double>(xt::less(x.value(), y.value())));
}
Tensor less_equal(const Tensor& x, const Tensor& y) {
    return constant(xt::cast<double>(xt::less_equal(x.value(), y.value())));
}
Tensor greater(const Tensor& x, const Tensor& y) {
    return constant(xt::cast<double>(xt::greater(x.value(), y.value())));
}
Tensor greater_equal(const Tensor& x, const Tensor& y) {
    return constant(xt::cast<double>(xt::greater_equal(x.value(), y.value())));
}
Tensor equal(const Tensor& x, const Tensor& y) {
    return constant(xt::cast<double>(xt::equal(x.value(), y.value())));
}
Tensor not_equal(const Tensor& x, const Tensor& y) {
    return constant(xt::cast<double>(xt::not_equal(x.value(), y.value())));
}

Tensor exp(const Tensor& x) { return apply(exp_primitive, {x}); }
Tensor log(const Tensor& x) { return apply(log_primitive, {x}); }
Tensor sqrt(const Tensor& x) { return apply(sqrt_primitive, {x}); }
Tensor tanh(const Tensor& x) { return apply(tanh_primitive, {x}); }
Tensor sin(const Tensor& x) { return apply(sin_primitive, {x}); }
Tensor cos(const Tensor& x) { return apply(cos_primitive, {x}); }
Tensor sinh(const Tensor& x) { return apply(sinh_primitive, {x}); }
Tensor cosh(const Tensor& x) { return apply(cosh_primitive, {x}); }
Tensor sign(const Tensor& x) { return apply(sign_primitive, {x}); }
Tensor abs(const Tensor& x) { return apply(abs_primitive, {x}); }
Tensor maximum(const Tensor& x, const Tensor& y) { return apply(maximum_primitive, {x, y}); }
Tensor where(const Tensor& condition, const Tensor& x, const Tensor& y) {
    return apply(where_primitive, {condition, x, y});
}

Tensor sum(const Tensor& x, Axes axes, bool keepdims) {
    Attributes attributes;
    attributes.axes = std::move(axes);
    attributes.keepdims = keepdims;
    return apply(sum_primitive, {x}, std::move(attributes));
}

Tensor mean(const Tensor& x, Axes axes, bool keepdims) {
    Attributes attributes;
    attributes.axes = std::move(axes);
    attributes.keepdims = keepdims;
    return apply(mean_primitive, {x}, std::move(attributes));
}

Tensor reshape(const Tensor& x, const std::vector<std::ptrdiff_t>& shape) {
    const auto fail = [&]() {
        std::ostringstream wanted;
        wanted << '(';
        for (std::size_t i = 0; i < shape.size(); ++i) wanted << (i ? ", " : "") << shape[i];
        wanted << (shape.size() == 1 ? ",)" : ")");
        throw std::invalid_argument("reshape: cannot reshape a tensor of shape " +
                                    shape_string(x.shape()) + " (size " +
                                    std::to_string(x.size()) + ") into shape " + wanted.str());
    };
    Shape resolved(shape.size());
    std::size_t known = 1;
    std::ptrdiff_t free_axis = -1;
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] == -1 && free_axis < 0) {
            free_axis = static_cast<std::ptrdiff_t>(i);
        } else if (shape[i] < 0) {
            fail();
        } else {
            resolved[i] = static_cast<std::size_t>(shape[i]);
            known *= resolved[i];
        }
    }
    if (free_axis >= 0) {
        if (known == 0 || x.size() % known != 0) fail();
        resolved[static_cast<std::size_t>(free_axis)] = x.size() / known;
    } else if (known != x.size()) {
        fail();
    }
    return reshape_to(x, resolved);
}

Tensor transpose(const Tensor& x) {
    std::vector<std::size_t> order(x.ndim());
    std::iota(order.rbegin(), order.rend(), std::size_t{0});
    return transpose(x, order);
}

Tensor transpose(const Tensor& x, const std::vector<std::size_t>& order) {
    std::vector<std::size_t> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    bool permutation = sorted.size() == x.ndim();
    for (std::size_t i = 0; permutation && i < sorted.size(); ++i) permutation = sorted[i] == i;
    if (!permutation) {
        throw std::invalid_argument(input_error(
            "transpose", "the order of the axes is not a permutation of the tensor's axes", {x}));
    }
    Attributes attributes;
    attributes.order = order;
    return apply(transpose_primitive, {x}, std::move(attributes));
}

Tensor broadcast_to(const Tensor& x, const Shape& shape) {
    Attributes attributes;
    attributes.shape = shape;
    return apply(broadcast_to_primitive, {x}, std::move(attributes));
}

Tensor getitem(const Tensor& x, const Index& index) {
    Attributes attributes;
    attributes.index = checked_index(index, x.shape());
    return apply(getitem_primitive, {x}, std::move(attributes));
}

Tensor scatter_add(const Tensor& g, const Index& index, const Shape& shape) {
    Attributes attributes;
    attributes.index = index;
    attributes.shape = shape;
    return apply(scatter_add_primitive, {g}, std::move(attributes));
}

Tensor matmul(const Tensor& a, const Tensor& b) {
    const auto& a_shape = a.shape();
    const auto& b_shape = b.shape();
    if (a_shape.empty() || b_shape.empty()) {
        throw std::invalid_argument("matmul: operands must have at least one axis, got shapes " +
                                    shape_string(a_shape) + " and " + shape_string(b_shape) +
                                    "; use * to multiply by a scalar");
    }
    const std::size_t inner_b = b_shape.size() == 1 ? b_shape[0] : b_shape[b_shape.size() - 2];
    if (a_shape.back() != inner_b) {
        throw std::invalid_argument("matmul: inner dimensions do not match: " +
                                    shape_string(a_shape) + " @ " + shape_string(b_shape) + " (" +
                                    std::to_string(a_shape.back()) +
                                    " != " + std::to_string(inner_b) + ")");
    }
    if (a_shape.size() > 1 && b_shape.size() > 1) return matmul_stack(a, b);
    Shape a2_shape = shape_of(a_shape);
    Shape b2_shape = shape_of(b_shape);
    if (a_shape.size() == 1) a2_shape.insert(a2_shape.begin(), 1);
    if (b_shape.size() == 1) b2_shape.push_back(1);
    const Tensor a2 = a_shape.size() == 1 ? reshape_to(a, a2_shape) : a;
    const Tensor b2 = b_shape.size() == 1 ? reshape_to(b, b2_shape) : b;
    const Tensor out = matmul_stack(a2, b2);
    Shape kept = shape_of(out.shape());
    kept.resize(kept.size() - 2);  // the stack axes, then the rows and columns that are kept
    if (a_shape.size() > 1) kept.push_back(out.shape()[out.ndim() - 2]);
    if (b_shape.size() > 1) kept.push_back(out.shape().back());
    return reshape_to(out, kept);
}

Tensor dot(const Tensor& a, const Tensor& b) {
    if (a.ndim() > 2 || b.ndim() > 2) {
        throw std::invalid_argument("dot: supported for up to two axes, got shapes " +
                                    shape_string(a.shape()) + " and " + shape_string(b.shape()) +
                                    "; use matmul for stacks of matrices");
    }
    if (a.ndim() == 0 || b.ndim() == 0) return multiply(a, b);
    return matmul(a, b);
}

Tensor unbroadcast(const Tensor& g, const Array::shape_type& shape, std::size_t batch_ndim) {
    const auto& g_shape = g.shape();
    const std::size_t extra = g_shape.size() - batch_ndim - shape.size();
    std::vector<std::ptrdiff_t> summed;
    for (std::size_t i = 0; i < extra; ++i) summed.push_back(static_cast<std::ptrdiff_t>(batch_ndim + i));
    const std::size_t start = batch_ndim + extra;
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] == 1 && g_shape[start + i] != 1) summed.push_back(static_cast<std::ptrdiff_t>(start + i));
    }
    Tensor out = g;
    if (!summed.empty()) out = sum(g, Axes(summed));
    Shape target(g_shape.begin(), g_shape.begin() + static_cast<std::ptrdiff_t>(batch_ndim));
    target.insert(target.end(), shape.begin(), shape.end());
    if (!std::equal(out.shape().begin(), out.shape().end(), target.begin(), target.end())) {
        out = reshape_to(out, target);
    }
    return out;
}

Array matmul_values(const Array& a, const Array& b) {
    if (a.dimension() == 2 && b.dimension() == 2) return xt::linalg::dot(a, b);
    const std::size_t rows = a.shape()[a.dimension() - 2];
    const std::size_t cols = b.shape().back();
    const Shape a_stack(a.shape().begin(), a.shape().end() - 2);
    const Shape b_stack(b.shape().begin(), b.shape().end() - 2);
    Shape stack;
    if (!broadcast_shapes(a_stack, b_stack, stack)) throw xt::broadcast_error("");
    Shape out_shape = stack;
    out_shape.push_back(rows);
    out_shape.push_back(cols);
    if (b.dimension() == 2) {
        // One matrix on the right: the whole stack on the left is one tall matrix, one product.
        const std::size_t inner = a.shape().back();
        auto tall = xt::adapt(a.data(), a.size(), xt::no_ownership(),
                              std::vector<std::size_t>{product(a_stack) * rows, inner});
        Array out = xt::linalg::dot(tall, b);
        out.reshape(out_shape);
        return out;
    }
    if (a.dimension() == 2) {
        // One matrix on the left: a @ b[i] for every matrix of the stack is one product of a
        // with the stack's matrices side by side, (k, B·n), then taken apart again.
        const std::size_t inner = a.shape()[1];
        const std::size_t count = product(b_stack);
        Array side_by_side = xt::transpose(
            xt::reshape_view(b, std::vector<std::size_t>{count, inner, cols}), {1, 0, 2});
        side_by_side.reshape({inner, count * cols});
        Array products = xt::linalg::dot(a, side_by_side);
        products.reshape({rows, count, cols});
        Array out = xt::transpose(products, {1, 0, 2});
        out.reshape(out_shape);
        return out;
    }
    Array out = xt::zeros<double>(out_shape);
    for (std::size_t flat = 0; flat < product(stack); ++flat) {
        xt::strided_view(out, matrix_of(flat, stack, stack)) =
            xt::linalg::dot(Array(xt::strided_view(a, matrix_of(flat, stack, a_stack))),
                            Array(xt::strided_view(b, matrix_of(flat, stack, b_stack))));
    }
    return out;
}

}  // namespace autodiff
