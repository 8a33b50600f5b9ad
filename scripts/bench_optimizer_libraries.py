"""heavyball or pytorch-optimizer for the baselines that torch.optim, schedulefree and
prodigyopt do not cover (Lion, Shampoo, SOAP, SAM): coverage, correctness and speed,
side by side.

    python scripts/bench_optimizer_libraries.py [--soap-reference PATH/soap.py] [--heavyball-compile]

- coverage: which of the optimizers each library ships;
- correctness: SOAP of each library against the authors' reference implementation
  (soap.py of github.com/nikhilvyas/SOAP, given by path; without it, the libraries are
  compared with each other), with the paper's settings, on a least-squares problem whose
  gradients are full rank from the first step (with rank-deficient statistics the
  eigenbasis is arbitrary in the null space and rounding alone separates any two
  implementations); and Lion against its update rule written out;
- speed: milliseconds per SOAP step (forward, backward and step) on an MLP, one CPU
  thread (stable on a shared machine), and the first step (heavyball compiles there
  unless told not to);
- quality: training loss of each SOAP after 200 steps on the real digits data.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import statistics
import time

import torch
from sklearn.datasets import load_digits

SOAP_SETTINGS = dict(lr=3e-3, betas=(0.9, 0.95), shampoo_beta=0.95, eps=1e-8, weight_decay=0.01,
                     precondition_frequency=5)
NEEDED = {"Lion": ("Lion",), "Shampoo": ("Shampoo", "ScalableShampoo"), "SOAP": ("SOAP",),
          "SAM": ("SAM", "SAMWrapper")}


def soap_makers(reference_path: str | None, heavyball_compile: bool) -> dict:
    import heavyball
    import pytorch_optimizer

    if not heavyball_compile:
        heavyball.utils.compile_mode = None  # eager; its default compiles with inductor
    makers = {
        "pytorch-optimizer": lambda p: pytorch_optimizer.SOAP(p, **SOAP_SETTINGS),
        # heavyball with the paper's choices where its defaults differ.
        "heavyball": lambda p: heavyball.SOAP(p, merge_dims=False, max_precond_dim=10000, precondition_1d=False,
                                              use_precond_schedule=False, **SOAP_SETTINGS),
    }
    if reference_path:
        spec = importlib.util.spec_from_file_location("soap_reference", reference_path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        makers = {"reference": lambda p: module.SOAP(p, **SOAP_SETTINGS), **makers}
    return makers


def coverage() -> None:
    import heavyball
    import pytorch_optimizer

    print("coverage (class names):")
    for what, names in NEEDED.items():
        row = {lib.__name__: [n for n in names if hasattr(lib, n)] for lib in (heavyball, pytorch_optimizer)}
        print(f"  {what:8} heavyball: {', '.join(row['heavyball']) or '-':22} "
              f"pytorch-optimizer: {', '.join(row['pytorch_optimizer']) or '-'}")


def trajectory(make, steps: int = 30) -> list[torch.Tensor]:
    torch.manual_seed(0)
    model = torch.nn.Linear(8, 8, bias=False)
    x = torch.randn(steps * 128, 8)
    y = x @ torch.randn(8, 8)
    opt, out = make(model.parameters()), []
    for t in range(steps):
        opt.zero_grad()
        ((model(x[t * 128:(t + 1) * 128]) - y[t * 128:(t + 1) * 128]) ** 2).mean().backward()
        opt.step()
        out.append(model.weight.detach().clone())
    return out


def correctness(makers: dict) -> None:
    runs = {name: trajectory(make) for name, make in makers.items()}
    base = "reference" if "reference" in runs else "pytorch-optimizer"
    print(f"SOAP: max |weight difference| from {base} after step 1 / 2 / 5 / 6 / 10 / 30 "
          f"(eigenbasis refreshed every {SOAP_SETTINGS['precondition_frequency']} steps; a step moves ~{SOAP_SETTINGS['lr']}):")
    for name, run in runs.items():
        if name != base:
            diffs = [float((run[t] - runs[base][t]).abs().max()) for t in (0, 1, 4, 5, 9, 29)]
            print(f"  {name:18} " + "  ".join(f"{d:.1e}" for d in diffs))


def lion_against_rule() -> None:
    from pytorch_optimizer import Lion

    torch.manual_seed(0)
    p, grads = torch.nn.Parameter(torch.randn(50)), [torch.randn(50) for _ in range(20)]
    lr, (b1, b2), wd = 1e-2, (0.9, 0.99), 0.1
    expected, m = p.detach().clone(), torch.zeros(50)
    opt = Lion([p], lr=lr, betas=(b1, b2), weight_decay=wd)
    for g in grads:
        expected = expected * (1 - lr * wd) - lr * torch.sign(b1 * m + (1 - b1) * g)
        m = b2 * m + (1 - b2) * g
        p.grad = g.clone()
        opt.step()
    print(f"Lion (pytorch-optimizer) vs its rule after 20 steps: max |difference| "
          f"{float((p.detach() - expected).abs().max()):.1e} (heavyball ships no Lion)")


def speed_and_quality(makers: dict) -> None:
    data = load_digits()
    x, y = torch.tensor(data.data / 16.0, dtype=torch.float32), torch.tensor(data.target)
    print("SOAP on an MLP 64-256-256-10, batch 128: ms per step (median, steps 5-200), first step, "
          "training loss after 200 steps:")
    torch.manual_seed(0)
    net0 = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.Tanh(), torch.nn.Linear(256, 256),
                               torch.nn.Tanh(), torch.nn.Linear(256, 10))
    for name, make in makers.items():
        net, generator, times = copy.deepcopy(net0), torch.Generator().manual_seed(1), []
        opt = make(net.parameters())
        for _ in range(200):
            batch = torch.randint(0, len(y), (128,), generator=generator)
            started = time.perf_counter()
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(x[batch]), y[batch]).backward()
            opt.step()
            times.append(time.perf_counter() - started)
        with torch.no_grad():
            loss = torch.nn.functional.cross_entropy(net(x), y).item()
        print(f"  {name:18} {1e3 * statistics.median(times[5:]):7.2f} ms   first {1e3 * times[0]:9.1f} ms   "
              f"loss {loss:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--soap-reference", help="path to soap.py of github.com/nikhilvyas/SOAP")
    parser.add_argument("--heavyball-compile", action="store_true", help="keep heavyball's torch.compile")
    args = parser.parse_args()
    torch.set_num_threads(1)
    makers = soap_makers(args.soap_reference, args.heavyball_compile)
    coverage()
    correctness(makers)
    lion_against_rule()
    speed_and_quality(makers)


if __name__ == "__main__":
    main()
