"""L-BFGS with torch.optim.LBFGS's algorithm, options and state (numpy on the parameters'
dtype; scalars stay numpy scalars of that dtype so the arithmetic rounds as PyTorch's 0-d
tensors do). The strong-Wolfe line search brackets, then zooms by cubic interpolation."""
from __future__ import annotations

import numpy as np

from ..autograd import enable_grad, no_grad
from .optimizer import Optimizer, check_range


def _cubic_minimum(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2), clipped to bounds
    (default: the interval between x1 and x2); the bounds' midpoint when it has none."""
    low, high = bounds if bounds is not None else ((x1, x2) if x1 <= x2 else (x2, x1))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square < 0:
        return (low + high) / 2.0
    d2 = np.sqrt(d2_square)
    if x1 <= x2:
        position = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        position = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(position, low), high)


class _Bracket:
    """Two trial steps (t, loss, gradient, directional derivative), the low one lower."""

    def __init__(self, points):
        self.points = points
        self.order()

    def order(self):
        self.low, self.high = (0, 1) if self.points[0][1] <= self.points[-1][1] else (1, 0)

    def steps(self):
        return [p[0] for p in self.points]


def _bracket_phase(evaluate, t, f, g, gtd, c1, c2, max_ls):
    """Grow t until an interval holds a strong-Wolfe point. Returns (bracket, done, evals,
    line-search iterations)."""
    f_new, g_new = evaluate(t)
    evals, ls_iter = 1, 0
    gtd_new = g_new.dot(evaluate.direction)
    previous = (0, f, g, gtd)
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= previous[1]):
            return _Bracket([previous, (t, f_new, g_new.copy(), gtd_new)]), False, evals, ls_iter
        if abs(gtd_new) <= -c2 * gtd:
            return _Bracket([(t, f_new, g_new, gtd_new)]), True, evals, ls_iter
        if gtd_new >= 0:
            return _Bracket([previous, (t, f_new, g_new.copy(), gtd_new)]), False, evals, ls_iter
        min_step, max_step = t + 0.01 * (t - previous[0]), t * 10
        t_next = _cubic_minimum(previous[0], previous[1], previous[3], t, f_new, gtd_new,
                                bounds=(min_step, max_step))
        previous = (t, f_new, g_new.copy(), gtd_new)
        t = t_next
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = g_new.dot(evaluate.direction)
        ls_iter += 1
    # out of evaluations: as PyTorch, the bracket is [0, t] (gtd of the end is not kept)
    return _Bracket([(0, f, g, None), (t, f_new, g_new, None)]), False, evals, ls_iter


def _safeguarded(t, steps, insufficient):
    """PyTorch's guard against a trial step too close to the bracket's ends."""
    low, high = min(steps), max(steps)
    eps = 0.1 * (high - low)
    if min(high - t, t - low) >= eps:
        return t, False
    if insufficient or t >= high or t <= low:
        return (high - eps if abs(t - high) < abs(t - low) else low + eps), False
    return t, True


def _strong_wolfe(evaluate, t, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """Line search along evaluate.direction from step t: (loss, flat grad, step, evals)."""
    d_norm = np.abs(evaluate.direction).max()
    bracket, done, evals, ls_iter = _bracket_phase(evaluate, t, f, g.copy(), gtd, c1, c2,
                                                   max_ls)
    insufficient = False
    while not done and ls_iter < max_ls:
        steps = bracket.steps()
        if abs(steps[1] - steps[0]) * d_norm < tolerance_change:
            break
        (t0, f0, _, gtd0), (t1, f1, _, gtd1) = bracket.points
        t = _cubic_minimum(t0, f0, gtd0, t1, f1, gtd1)
        t, insufficient = _safeguarded(t, steps, insufficient)
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = g_new.dot(evaluate.direction)
        ls_iter += 1
        points, low, high = bracket.points, bracket.low, bracket.high
        if f_new > (f + c1 * t * gtd) or f_new >= points[low][1]:
            points[high] = (t, f_new, g_new.copy(), gtd_new)
            bracket.order()
            continue
        if abs(gtd_new) <= -c2 * gtd:
            done = True
        elif gtd_new * (points[high][0] - points[low][0]) >= 0:
            points[high] = points[low]
        points[low] = (t, f_new, g_new.copy(), gtd_new)
    t, f_new, g_new, _ = bracket.points[bracket.low]
    return f_new, g_new, t, evals


class LBFGS(Optimizer):
    """torch.optim.LBFGS: ``step(closure)`` runs up to ``max_iter`` iterations, the closure
    recomputing the loss and gradients. One parameter group only, as PyTorch."""

    def __init__(self, params=None, lr=1.0, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        check_range("lr", "Invalid learning rate", lr, 0.0)
        if line_search_fn not in (None, "strong_wolfe"):
            raise ValueError(f"LBFGS: argument 'line_search_fn' must be None or "
                             f"'strong_wolfe', got {line_search_fn!r}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        super().__init__(params, dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                                      tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change,
                                      history_size=history_size, line_search_fn=line_search_fn))

    def add_param_group(self, param_group):
        if self.param_groups:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        super().add_param_group(param_group)

    @property
    def _params(self):
        return self.param_groups[0]["params"]

    def _flat_grad(self):
        return np.concatenate([
            np.zeros(p._array.size, p._array.dtype) if p.grad is None else
            np.asarray(p.grad._array, p._array.dtype).reshape(-1) for p in self._params])

    def _add_direction(self, step_size, direction):
        offset = 0
        for p in self._params:
            n = p._array.size
            p._array += float(step_size) * direction[offset:offset + n].reshape(p._array.shape)
            offset += n

    def _set_params(self, arrays):
        for p, array in zip(self._params, arrays):
            p._array[...] = array

    def _evaluator(self, closure, direction):
        """f(t) = (loss, flat grad) at x + t d, leaving the parameters at x."""
        start = [p._array.copy() for p in self._params]

        def evaluate(t):
            self._add_direction(t, direction)
            with enable_grad():
                loss = float(closure())
            grad = self._flat_grad()
            self._set_params(start)
            return loss, grad
        evaluate.direction = direction
        return evaluate

    @no_grad()
    def step(self, closure):
        """One optimisation step (up to max_iter iterations); returns the first loss."""
        self._require_bound("step()")
        if closure is None:
            raise ValueError("LBFGS.step: argument 'closure' is required (a function that "
                             "zeroes the gradients, computes the loss, calls backward and "
                             "returns the loss)")
        group = self.param_groups[0]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        with enable_grad():
            orig_loss = closure()
        loss = float(orig_loss)
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        if np.abs(flat_grad).max() <= group["tolerance_grad"]:
            return orig_loss
        _Iterations(self, group, state, closure).run(loss, flat_grad)
        return orig_loss


class _Iterations:
    """The body of one LBFGS.step: the iterations, reading and saving the optimizer's state."""

    def __init__(self, optimizer, group, state, closure):
        self.opt, self.group, self.state, self.closure = optimizer, group, state, closure
        self.d, self.t = state.get("d"), state.get("t")
        self.old_dirs, self.old_stps = state.get("old_dirs"), state.get("old_stps")
        self.ro, self.h_diag = state.get("ro"), state.get("H_diag")
        self.prev_flat_grad, self.prev_loss = state.get("prev_flat_grad"), state.get("prev_loss")

    def run(self, loss, flat_grad):
        group, state = self.group, self.state
        current_evals, n_iter = 1, 0
        while n_iter < group["max_iter"]:
            n_iter += 1
            state["n_iter"] += 1
            self._direction(flat_grad)
            if self.prev_flat_grad is None:
                self.prev_flat_grad = flat_grad.copy()
            else:
                self.prev_flat_grad[...] = flat_grad
            self.prev_loss = loss
            lr = group["lr"]
            if state["n_iter"] == 1:
                self.t = min(1.0, 1.0 / np.abs(flat_grad).sum()) * lr
            else:
                self.t = lr
            gtd = flat_grad.dot(self.d)
            if gtd > -group["tolerance_change"]:
                break
            loss, flat_grad, evals = self._move(loss, flat_grad, gtd, group, current_evals,
                                                n_iter)
            opt_cond = np.abs(flat_grad).max() <= group["tolerance_grad"] \
                if evals else False
            current_evals += evals
            state["func_evals"] += evals
            if n_iter == group["max_iter"] or current_evals >= group["max_eval"] or opt_cond:
                break
            if np.abs(self.d * self.t).max() <= group["tolerance_change"]:
                break
            if abs(loss - self.prev_loss) < group["tolerance_change"]:
                break
        state.update(d=self.d, t=self.t, old_dirs=self.old_dirs, old_stps=self.old_stps,
                     ro=self.ro, H_diag=self.h_diag, prev_flat_grad=self.prev_flat_grad,
                     prev_loss=self.prev_loss)

    def _move(self, loss, flat_grad, gtd, group, current_evals, n_iter):
        """Take the step along d (line search or fixed t): (loss, flat grad, evaluations)."""
        opt = self.opt
        if group["line_search_fn"] is not None:
            evaluate = opt._evaluator(self.closure, self.d)
            loss, flat_grad, self.t, evals = _strong_wolfe(
                evaluate, self.t, loss, flat_grad, gtd,
                max_ls=group["max_eval"] - current_evals)
            opt._add_direction(self.t, self.d)
            return loss, flat_grad, evals
        opt._add_direction(self.t, self.d)
        if n_iter == group["max_iter"]:
            return loss, flat_grad, 0
        with enable_grad():
            loss = float(self.closure())
        return loss, opt._flat_grad(), 1

    def _direction(self, flat_grad):
        """The quasi-Newton direction d from the gradient and the curvature history."""
        state, history_size = self.state, self.group["history_size"]
        if state["n_iter"] == 1:
            self.d = -flat_grad
            self.old_dirs, self.old_stps, self.ro, self.h_diag = [], [], [], 1
            return
        y = flat_grad - self.prev_flat_grad
        s = self.d * self.t
        ys = y.dot(s)
        if ys > 1e-10:
            if len(self.old_dirs) == history_size:
                del self.old_dirs[0], self.old_stps[0], self.ro[0]
            self.old_dirs.append(y)
            self.old_stps.append(s)
            self.ro.append(1.0 / ys)
            self.h_diag = ys / y.dot(y)
        if "al" not in state:
            state["al"] = [None] * history_size
        al = state["al"]
        q = -flat_grad
        for i in range(len(self.old_dirs) - 1, -1, -1):
            al[i] = self.old_stps[i].dot(q) * self.ro[i]
            q += -al[i] * self.old_dirs[i]
        r = q * self.h_diag
        for i in range(len(self.old_dirs)):
            be_i = self.old_dirs[i].dot(r) * self.ro[i]
            r += (al[i] - be_i) * self.old_stps[i]
        self.d = r
