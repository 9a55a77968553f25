"""Maximum-likelihood logistic regression by Newton's method (IRLS), for tall narrow data.

Scorecards fit a handful of WoE columns on up to millions of rows: the Hessian is tiny
(``p x p``) and Newton converges in a few passes, each a couple of BLAS calls over the data.
The log-likelihood comes out exactly, which AIC/BIC stepwise selection needs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["LogitFit", "fit_logistic"]

FloatArray = npt.NDArray[np.float64]
_CHUNK = 1 << 16


@dataclass(frozen=True)
class LogitFit:
    """Coefficients, intercept and the maximised log-likelihood of a logistic model."""

    coef: FloatArray
    intercept: float
    loglik: float
    n_iter: int
    converged: bool

    def aic(self) -> float:
        """Akaike information criterion ``2k - 2 loglik`` (intercept counted)."""
        return 2.0 * (self.coef.size + 1) - 2.0 * self.loglik

    def bic(self, n_rows: int) -> float:
        """Bayesian information criterion ``k ln(n) - 2 loglik`` (intercept counted)."""
        return (self.coef.size + 1) * math.log(n_rows) - 2.0 * self.loglik


def _loglik(eta: FloatArray, y: FloatArray) -> float:
    # sum(y * eta - log(1 + e^eta)), stable for large |eta|
    return float(np.dot(y, eta) - np.logaddexp(0.0, eta).sum())


def fit_logistic(
    X: FloatArray,
    y: npt.NDArray[np.bool_] | FloatArray,
    *,
    l2: float = 0.0,
    max_iter: int = 100,
    tol: float = 1e-10,
    hessian_rows: int = 200_000,
    random_state: int = 0,
) -> LogitFit:
    """Fit ``P(y = 1) = 1 / (1 + exp(-(intercept + X @ coef)))`` by Newton's method.

    ``l2`` adds ``l2 / 2 * ||coef||^2`` to the negative log-likelihood (the intercept is
    not penalised). Steps are halved until the penalised log-likelihood improves.

    On more than ``hessian_rows`` rows the Hessian is estimated on a seeded sample of that
    many rows (scaled up) and the model is first fitted on that sample; the gradient and
    the objective always use every row, so the answer is the full-data optimum and only
    the path to it is cheaper.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(20000, 2))
    >>> y = rng.random(20000) < 1 / (1 + np.exp(-(-1.0 + 2.0 * X[:, 0])))
    >>> fit = fit_logistic(X, y)
    >>> np.round(fit.coef, 1).tolist(), round(fit.intercept, 1), fit.converged
    ([2.0, -0.0], -1.0, True)
    """
    n, p = X.shape
    yf = np.asarray(y, dtype=np.float64)
    mean = min(max(float(yf.mean()), 1e-12), 1 - 1e-12)
    beta = np.zeros(p + 1)
    beta[0] = math.log(mean / (1 - mean))
    sample: npt.NDArray[np.intp] | None = None
    if n > hessian_rows:
        rng = np.random.default_rng(random_state)
        sample = np.sort(rng.choice(n, size=hessian_rows, replace=False))
        Xs = np.ascontiguousarray(X[sample])
        warm = fit_logistic(Xs, yf[sample], l2=l2 * hessian_rows / n, max_iter=max_iter, tol=tol)
        beta = np.concatenate(([warm.intercept], warm.coef))
    else:
        Xs = X
    scale = n / Xs.shape[0]
    # The penalty is part of the objective; the 1e-10 * n stabiliser only enters the
    # Hessian (it changes the path, never the optimum).
    hess_add = np.full(p + 1, l2 + 1e-10 * max(n, 1))
    hess_add[0] = 1e-10 * max(n, 1)

    def objective(b: FloatArray) -> tuple[float, FloatArray]:
        eta = X @ b[1:] + b[0]
        return _loglik(eta, yf) - 0.5 * l2 * float(np.dot(b[1:], b[1:])), eta

    obj, eta = objective(beta)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 - reported after the loop
        mu = 1.0 / (1.0 + np.exp(-eta))
        r = yf - mu
        grad = np.empty(p + 1)
        grad[0] = r.sum()
        grad[1:] = X.T @ r - l2 * beta[1:]
        if sample is None:
            w = mu * (1.0 - mu)
        else:
            mu_s = mu[sample]
            w = mu_s * (1.0 - mu_s)
        hess = np.zeros((p + 1, p + 1))
        hess[0, 0] = w.sum()
        hess[0, 1:] = hess[1:, 0] = Xs.T @ w
        for st in range(0, Xs.shape[0], _CHUNK):
            xc = Xs[st : st + _CHUNK]
            hess[1:, 1:] += xc.T @ (xc * w[st : st + _CHUNK, None])
        hess *= scale
        hess[np.diag_indices(p + 1)] += hess_add
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(hess, grad, rcond=None)[0]
        t = 1.0
        while True:
            cand = beta + t * step
            new_obj, new_eta = objective(cand)
            if new_obj >= obj - 1e-12 * abs(obj) or t < 1e-8:
                break
            t *= 0.5
        gain = new_obj - obj
        beta, obj, eta = cand, new_obj, new_eta
        if abs(gain) <= tol * max(1.0, abs(obj)) and float(np.abs(t * step).max()) < 1e-6:
            converged = True
            break
    return LogitFit(
        coef=beta[1:].copy(),
        intercept=float(beta[0]),
        loglik=_loglik(eta, yf),
        n_iter=it,
        converged=converged,
    )
