#!/usr/bin/env python3
"""PyTorch reference (CPU or CUDA) for `pnpm bench train` (bench/train.mjs).

The same network and step as the bmp benchmark: the paper VGG of @bmp/models (3x3 conv without bias ->
BatchNorm without affine parameters (batch statistics) -> ReLU, 2x2 max-pool closing every stage, one
bias-free linear classifier; channels max(1, round(v * width))), trained on one fixed random batch with
forward + backward + SGD with momentum 0.9 (lr 0.1, weight decay 0.005: MomentumSGD's settings in
bench/train.mjs). Prints one JSON line with the median step time over --steps timed steps after --warmup.

Setup on Debian: apt-get install -y python3-torch, then run with /usr/bin/python3:

  /usr/bin/python3 bench/torch_train_reference.py --depth 13 --width 0.25 --batch 64 --steps 10 --threads 1
  python3 bench/torch_train_reference.py --device cuda --width 1 --batch 128   # on an NVIDIA GPU

--device cuda: model and batch on the GPU, torch.cuda.synchronize() before the clock starts and before it
stops, so that the time covers the step's kernels and not only their launch. PyTorch's defaults are kept
(cuDNN may use TF32 for convolutions on Ampere and newer: `cudnn_allow_tf32` in the JSON says so;
--no-tf32 turns it off to match float32 arithmetic). Exits 3 with a JSON line {"error": ...} when CUDA
is asked for and torch sees no GPU.
"""
import argparse
import json
import os
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

CFG = {
    11: [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    13: [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    19: [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


class PaperVGG(nn.Module):
    def __init__(self, depth, width, in_channels, num_classes):
        super().__init__()
        layers, c = [], in_channels
        for v in CFG[depth]:
            if v == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                out = max(1, int(round(v * width)))  # Python's round: half to even, as @bmp/models
                layers += [
                    nn.Conv2d(c, out, 3, padding=1, bias=False),
                    nn.BatchNorm2d(out, affine=False),
                    nn.ReLU(inplace=True),
                ]
                c = out
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(c, num_classes, bias=False)

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--depth", type=int, default=13, choices=sorted(CFG))
    p.add_argument("--width", type=float, default=0.25)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--channels", type=int, default=3)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (intra-op threads)")
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="where the step runs (default cpu)")
    p.add_argument("--no-tf32", action="store_true", help="cuda: no TF32 in cuDNN convolutions and matmuls")
    a = p.parse_args()

    cuda = a.device == "cuda"
    if cuda and not torch.cuda.is_available():
        print(json.dumps({"error": f"torch {torch.__version__} sees no CUDA device "
                          f"(torch.version.cuda={torch.version.cuda})"}))
        raise SystemExit(3)
    if cuda and a.no_tf32:
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    if cuda:
        torch.backends.cudnn.benchmark = False

    torch.manual_seed(0)
    torch.set_num_threads(a.threads)
    # One inter-op thread as well, so that --threads is all the cores the run uses.
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    model = PaperVGG(a.depth, a.width, a.channels, a.classes)
    model.to(a.device)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0.9, weight_decay=5e-3)
    x = torch.randn(a.batch, a.size, a.size, a.channels).permute(0, 3, 1, 2).contiguous()
    y = torch.randint(0, a.classes, (a.batch,))
    x, y = x.to(a.device), y.to(a.device)

    def sync():
        if cuda:
            torch.cuda.synchronize()

    times, losses = [], []
    for i in range(a.warmup + a.steps):
        sync()
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        sync()
        dt = time.perf_counter() - t0
        losses.append(loss.item())
        if i >= a.warmup:
            times.append(dt)
    med = statistics.median(times)
    print(json.dumps({
        "framework": f"torch-{torch.__version__}",
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "depth": a.depth, "width": a.width, "batch": a.batch, "size": a.size,
        "steps": a.steps, "warmup": a.warmup,
        "step_ms_median": round(med * 1000, 3),
        "step_ms_all": [round(t * 1000, 3) for t in times],
        "images_per_s": round(a.batch / med, 1),
        "params": sum(p.numel() for p in model.parameters()),
        "losses": [round(v, 4) for v in losses],
        "mkldnn": bool(torch.backends.mkldnn.is_available()),
        "cpu_count": os.cpu_count(),
        "device": a.device,
        **({
            "cuda_device": torch.cuda.get_device_name(0),
            "cuda_version": torch.version.cuda,
            "cudnn_version": torch.backends.cudnn.version(),
            "cudnn_allow_tf32": bool(torch.backends.cudnn.allow_tf32),
            "matmul_allow_tf32": bool(torch.backends.cuda.matmul.allow_tf32),
        } if cuda else {}),
    }))


if __name__ == "__main__":
    main()
