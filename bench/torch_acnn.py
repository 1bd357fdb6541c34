#!/usr/bin/python3
"""PyTorch twin of acnn's VGG16 ACNN networks, for `npm run bench`'s side-by-side timing.

Builds the same layers as src/model/arch.ts (VGG16-BN trunk conv1_1..conv4_2, 24 PG-units with
their own weights on P x P crops of the stride-8 map, the released attention net, GG-unit, heads,
DLP-CNN parts), so forward FLOPs and trainable parameter counts are identical; the bench checks
the counts against describeModel. Times one training step (forward + backward + SGD momentum
step with weight decay, as acnn's trainer does) and inference (no grad, eval mode).

Usage: /usr/bin/python3 bench/torch_acnn.py '<json config>'
  config: {"threads": [1, 2], "cases": [{"variant", "inputSize", "width", "batch", "mode": "train"|"infer",
           "warmup", "iters", "numClasses"?, "dlpK"?}], "countsOnly"?: bool}
Prints one JSON object per line: {"type": "info", ...} first, then one {"type": "result", ...} per
case and thread count, or {"type": "error", ...} for a case that failed.
"""
import json
import math
import os
import platform
import statistics
import sys
import time


def js_round(v):
    """JavaScript Math.round for non-negative values (Python's round is banker's rounding)."""
    return int(math.floor(v + 0.5))


def round_half_away(v):
    return -int(math.floor(-v + 0.5)) if v < 0 else int(math.floor(v + 0.5))


def ch(c, width):
    return max(1, js_round(c * width))


def main():
    cfg = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    try:
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
    except Exception as e:  # noqa: BLE001 - report any import failure
        print(json.dumps({"type": "unavailable", "reason": f"{type(e).__name__}: {e}"}), flush=True)
        return 0

    torch.set_num_interop_threads(1)

    def conv_bn(cin, cout, k=3, pad=1, relu=True):
        layers = [nn.Conv2d(cin, cout, k, padding=pad, bias=True), nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1)]
        if relu:
            layers.append(nn.ReLU(inplace=True))
        return layers

    def fc(fin, fout, bn=False, relu=True):
        layers = [nn.Linear(fin, fout)]
        if bn:
            layers.append(nn.BatchNorm1d(fout, eps=1e-5, momentum=0.1))
        if relu:
            layers.append(nn.ReLU(inplace=True))
        return layers

    class Attention(nn.Module):
        """maxpool 2x2 ceil, conv1x1 128 pad 1 + BN + ReLU, GAP, FC 64 + BN + ReLU, FC 1 + BN (sigmoid outside)."""

        def __init__(self, cin, w):
            super().__init__()
            c = ch(128, w)
            self.pool = nn.MaxPool2d(2, 2, ceil_mode=True)
            self.conv = nn.Sequential(*conv_bn(cin, c, k=1, pad=1))
            self.fc = nn.Sequential(*fc(c, ch(64, w), bn=True), *fc(ch(64, w), 1, bn=True, relu=False))

        def forward(self, h):
            a = self.conv(self.pool(h)).mean(dim=(2, 3))
            return self.fc(a)

    class PGUnit(nn.Module):
        def __init__(self, cin, side, w, gate):
            super().__init__()
            c = ch(512, w)
            self.body = nn.Sequential(*conv_bn(cin, c), *conv_bn(c, c))
            self.fc = nn.Sequential(*fc(c * side * side, ch(64, w)))
            self.att = Attention(c, w) if gate else None

        def forward(self, p):
            h = self.body(p)
            f = self.fc(torch.flatten(h, 1))
            if self.att is not None:
                a = torch.sigmoid(self.att(h))  # [B, 1]
                return f * a, a
            return f, None

    def head(fin, w, classes, patch_relu):
        layers = [nn.ReLU()] if patch_relu else []
        layers += [nn.Linear(fin, ch(1024, w)), nn.Dropout(0.5), nn.ReLU(inplace=True), nn.Linear(ch(1024, w), classes)]
        return nn.Sequential(*layers)

    class Net(nn.Module):
        def __init__(self, variant, S, w, classes=7, K=8):
            super().__init__()
            self.variant = variant
            self.S = S
            c = lambda n: ch(n, w)  # noqa: E731
            trunk = []
            cin = 3
            for item in [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512]:
                if item == "M":
                    trunk.append(nn.MaxPool2d(2, 2))
                else:
                    trunk += conv_bn(cin, c(item))
                    cin = c(item)
            self.trunk = nn.Sequential(*trunk)
            m = S
            for _ in range(3):
                m //= 2
            self.map = m
            self.P = max(2, js_round(6 * m / 28))
            C = cin
            self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
            self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))
            patches = variant in ("pcnn", "pacnn", "gcnn", "gacnn")
            gate = variant in ("pacnn", "gacnn")
            glob = variant in ("gcnn", "gacnn")
            self.units = nn.ModuleList([PGUnit(C, self.P, w, gate) for _ in range(24)]) if patches else None
            feats = 24 * c(64) if patches else 0
            if variant == "base":
                cls = []
                for item in [512, "M", 512, 512, 512, "M"]:
                    if item == "M":
                        cls.append(nn.MaxPool2d(2, 2))
                    else:
                        cls += conv_bn(cin, c(item))
                        cin = c(item)
                g = m // 2 // 2
                self.classifier_convs = nn.Sequential(*cls)
                self.classifier_fc = nn.Sequential(
                    *fc(g * g * cin, c(4096)), nn.Dropout(0.5), *fc(c(4096), c(4096)), nn.Dropout(0.5), nn.Linear(c(4096), classes)
                )
            self.glob = None
            if glob:
                g = []
                for item in [512, "M", 512, 512]:
                    if item == "M":
                        g.append(nn.MaxPool2d(2, 2))
                    else:
                        g += conv_bn(cin, c(item))
                        cin = c(item)
                self.glob = nn.Sequential(*g)
                gs = m // 2
                self.glob_fc = nn.Sequential(*fc(gs * gs * cin, c(512)))
                self.glob_att = Attention(cin, w) if variant == "gacnn" else None
                feats += c(512)
            self.dlp = variant == "dlpcnn"
            if self.dlp:
                D = c(64)
                self.K = K
                self.maps = nn.Conv2d(C, K, 1)
                self.parts_w = nn.Parameter(torch.randn(K, C, D) * math.sqrt(2 / C))
                self.parts_b = nn.Parameter(torch.zeros(K, D))
                feats += K * D
            if variant != "base":
                self.head = head(feats, w, classes, patch_relu=variant in ("pcnn", "pacnn", "dlpcnn"))

        def crop(self, fmap, corners):
            """fmap [B, C, M, M]; corners [B, 24, 2] (row, col) -> [24*B, C, P, P], region-major, zero outside."""
            P = self.P
            B = fmap.shape[0]
            padded = F.pad(fmap, (P, P, P, P))
            ar = torch.arange(P)
            rows = (corners[..., 0].t().reshape(-1, 1) + P + ar).long()  # [24*B, P]
            cols = (corners[..., 1].t().reshape(-1, 1) + P + ar).long()
            bidx = torch.arange(B).repeat(24)
            # advanced indices around a slice: result [24*B, P, P, C]
            out = padded[bidx[:, None, None], :, rows[:, :, None], cols[:, None, :]]
            return out.permute(0, 3, 1, 2)

        def forward(self, x, corners):
            x = (x - self.mean) / self.std
            t = self.trunk(x)
            B = x.shape[0]
            if self.variant == "base":
                return self.classifier_fc(torch.flatten(self.classifier_convs(t), 1))
            feats = []
            if self.units is not None:
                patches = self.crop(t, corners)
                for i, u in enumerate(self.units):
                    f, _ = u(patches[i * B:(i + 1) * B])
                    feats.append(f)
            if self.glob is not None:
                g = self.glob(t)
                f = self.glob_fc(torch.flatten(g, 1))
                if self.glob_att is not None:
                    f = f * torch.sigmoid(self.glob_att(g))
                feats.append(f)
            if self.dlp:
                Bm, C, H, W = t.shape
                maps = torch.sigmoid(self.maps(t)).flatten(2)  # [B, K, HW]
                pooled = torch.bmm(maps, t.flatten(2).transpose(1, 2)) / (H * W)  # [B, K, C]
                parts = torch.bmm(pooled.transpose(0, 1), self.parts_w) + self.parts_b[:, None, :]  # [K, B, D]
                feats.append(parts.transpose(0, 1).reshape(B, -1))
            return self.head(torch.cat(feats, 1))

    def corners_for(points, net):
        M, P = net.map, net.P
        out = torch.empty(points.shape, dtype=torch.long)
        pts = points.tolist()
        for b, row in enumerate(pts):
            for r, (x, y) in enumerate(row):
                out[b, r, 0] = min(M, max(-P, round_half_away(y / 8 - P / 2)))
                out[b, r, 1] = min(M, max(-P, round_half_away(x / 8 - P / 2)))
        return out

    def params_of(net):
        return sum(p.numel() for p in net.parameters() if p.requires_grad)

    print(
        json.dumps(
            {
                "type": "info",
                "torch": torch.__version__,
                "python": platform.python_version(),
                "mkldnn": bool(torch.backends.mkldnn.is_available()),
                "defaultThreads": torch.get_num_threads(),
                "parallel": [l.strip() for l in torch.__config__.parallel_info().splitlines() if "backend" in l],
            }
        ),
        flush=True,
    )

    threads = cfg.get("threads", [1, 2])
    for case in cfg.get("cases", []):
        variant, S, w, B = case["variant"], int(case["inputSize"]), float(case["width"]), int(case["batch"])
        mode = case.get("mode", "train")
        key = {"variant": variant, "inputSize": S, "width": w, "batch": B, "mode": mode}
        try:
            torch.manual_seed(1)
            net = Net(variant, S, w, case.get("numClasses", 7), case.get("dlpK", 8))
            nparams = params_of(net)
            if cfg.get("countsOnly"):
                print(json.dumps({"type": "result", **key, "params": nparams}), flush=True)
                continue
            x = torch.rand(B, 3, S, S)
            pts = torch.rand(B, 24, 2) * (S - 16) + 8
            corners = corners_for(pts, net)
            labels = torch.arange(B) % net_classes(case)
            opt = torch.optim.SGD(net.parameters(), lr=0.001, momentum=0.9, weight_decay=5e-4)

            def step():
                opt.zero_grad(set_to_none=True)
                loss = F.cross_entropy(net(x, corners), labels)
                loss.backward()
                opt.step()
                return loss.item()

            def infer():
                with torch.no_grad():
                    return net(x, corners).sum().item()

            if mode == "train":
                net.train()
                fn = step
            else:
                net.eval()
                fn = infer
            for nt in threads:
                torch.set_num_threads(int(nt))
                for _ in range(int(case.get("warmup", 1))):
                    fn()
                times = []
                cpu = []
                for _ in range(int(case.get("iters", 3))):
                    c0 = time.process_time()
                    t0 = time.perf_counter()
                    fn()
                    times.append((time.perf_counter() - t0) * 1000)
                    cpu.append((time.process_time() - c0) * 1000)
                med = statistics.median(times)
                print(
                    json.dumps({"type": "result", **key, "threads": int(nt), "params": nparams, "medianMs": med, "timesMs": times, "cpuMedianMs": statistics.median(cpu), "imagesPerSec": B / (med / 1000)}),
                    flush=True,
                )
            del net, opt
        except Exception as e:  # noqa: BLE001 - one failed case must not hide the others
            print(json.dumps({"type": "error", **key, "error": f"{type(e).__name__}: {e}"}), flush=True)
    return 0


def net_classes(case):
    return int(case.get("numClasses", 7))


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    sys.exit(main())
