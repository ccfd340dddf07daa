#!/usr/bin/env python3
"""Analytic training FLOPs and trainable parameters of the benchmark's five models.

    tools/flops.py [TASK [IMAGE_SIZE]]      prints a table (or one model's figures)

Convention (stated in results.md as well):
  * forward FLOPs = 2 x the multiply-accumulates (MACs) of the conv and fully-connected layers;
    batch norm, ReLU, pooling, dropout, softmax and the loss are ignored;
  * training FLOPs per image = 3 x forward FLOPs (forward + gradient w.r.t. activations +
    gradient w.r.t. weights) minus the first layer's gradient w.r.t. its input (the images),
    which backpropagation never computes: 6 x MACs - 2 x the first layer's MACs.
Padding as TensorFlow: 'same' -> out = ceil(in / stride); 'valid' -> out = floor((in - k) / stride) + 1.
The layer lists below must match the benchmark scripts (see the module's CIFAR/AlexNet/VGG16/
ResNet50/tiny builders). No TensorFlow import: pure arithmetic.
"""
import math
import sys

TASKS = ("cifar10-cnn", "alexnet", "vgg16", "resnet50", "tiny")
# tiny, the per-step overhead task, runs at 32 px (tools/sweep.py); the others at their default
DEFAULT_SIZE = {"cifar10-cnn": 32, "alexnet": 224, "vgg16": 224, "resnet50": 224, "tiny": 32}


class _Net:
    """Walks a sequential stack of layers on an (h, w, c) shape, summing MACs and parameters."""

    def __init__(self, h, w, c):
        self.shape = (h, w, c)
        self.macs = 0
        self.first_macs = None  # the first layer's MACs: its input gradient is never computed
        self.params = 0

    @staticmethod
    def _out(size, k, stride, padding):
        if padding == "same":
            return math.ceil(size / stride)
        if padding == "valid":
            return (size - k) // stride + 1
        raise ValueError(f"padding {padding!r}")

    def _spatial(self, k, stride, padding):
        h, w, _ = self.shape
        oh, ow = self._out(h, k, stride, padding), self._out(w, k, stride, padding)
        if oh < 1 or ow < 1:
            raise ValueError(f"image too small: a {k}x{k}/{stride} {padding} window on {h}x{w}")
        return oh, ow

    def _add(self, macs):
        if self.first_macs is None:
            self.first_macs = macs
        self.macs += macs

    def conv(self, filters, k, stride=1, padding="same", bias=True, bn=False):
        cin = self.shape[2]
        oh, ow = self._spatial(k, stride, padding)
        self._add(oh * ow * filters * k * k * cin)
        self.params += k * k * cin * filters + (filters if bias else 0) + (2 * filters if bn else 0)
        self.shape = (oh, ow, filters)
        return self

    def pool(self, k, stride=None, padding="valid"):
        oh, ow = self._spatial(k, stride or k, padding)
        self.shape = (oh, ow, self.shape[2])
        return self

    def global_pool(self):
        self.shape = (1, 1, self.shape[2])
        return self

    def dense(self, units):
        fan_in = self.shape[0] * self.shape[1] * self.shape[2]  # flattens its input
        self._add(fan_in * units)
        self.params += fan_in * units + units
        self.shape = (1, 1, units)
        return self


def _cifar(size):
    n = _Net(size, size, 3)
    n.conv(32, 3, padding="same").conv(32, 3, padding="valid").pool(2)
    n.conv(64, 3, padding="same").conv(64, 3, padding="valid").pool(2)
    return n.dense(512).dense(10)


def _alexnet(size):
    n = _Net(size, size, 3)
    n.conv(64, 11, stride=4, padding="valid").pool(3, 2)
    n.conv(192, 5).pool(3, 2)
    n.conv(384, 3).conv(256, 3).conv(256, 3).pool(3, 2)
    return n.dense(4096).dense(4096).dense(1000)


def _vgg16(size):
    n = _Net(size, size, 3)
    for convs, filters in ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512)):
        for _ in range(convs):
            n.conv(filters, 3)
        n.pool(2)
    return n.dense(4096).dense(4096).dense(1000)


def _resnet50(size):
    n = _Net(size, size, 3)
    n.conv(64, 7, stride=2, bias=False, bn=True).pool(3, 2, padding="same")
    for group, (blocks, base) in enumerate(((3, 64), (4, 128), (6, 256), (3, 512))):
        for b in range(blocks):
            stride = 2 if (group > 0 and b == 0) else 1  # v1: stride on the first 1x1 conv
            h, w, cin = n.shape
            n.conv(base, 1, stride=stride, bias=False, bn=True)
            n.conv(base, 3, bias=False, bn=True)
            n.conv(base * 4, 1, bias=False, bn=True)
            out_shape = n.shape
            if stride != 1 or cin != base * 4:  # projection shortcut, 1x1 with the same stride
                side = _Net(h, w, cin).conv(base * 4, 1, stride=stride, bias=False, bn=True)
                assert side.shape == out_shape
                n.macs += side.macs
                n.params += side.params
    return n.global_pool().dense(1000)


def _tiny(size):
    """The per-step overhead task's model: one 3x3 conv of 16 filters (bias, ReLU), global average
    pooling, fc 1000; 448 + 17,000 = 17,448 parameters at any image size."""
    n = _Net(size, size, 3)
    return n.conv(16, 3).global_pool().dense(1000)


_BUILDERS = {"cifar10-cnn": _cifar, "alexnet": _alexnet, "vgg16": _vgg16, "resnet50": _resnet50,
             "tiny": _tiny}


def _net(task, image_size=None):
    if task not in _BUILDERS:
        raise ValueError(f"unknown task {task!r}; one of {', '.join(TASKS)}")
    return _BUILDERS[task](int(image_size or DEFAULT_SIZE[task]))


def forward_macs(task, image_size=None):
    """Multiply-accumulates of one image's forward pass (conv + fully-connected layers)."""
    return _net(task, image_size).macs


def forward_flops(task, image_size=None):
    return 2 * forward_macs(task, image_size)


def train_flops(task, image_size=None):
    """Training FLOPs per image: forward + weight gradients + activation gradients of every layer
    but the first (nothing needs the gradient w.r.t. the images): 6 x MACs - 2 x first-layer MACs."""
    net = _net(task, image_size)
    return 6 * net.macs - 2 * net.first_macs


def params(task, image_size=None):
    """Trainable parameters: conv and dense weights + biases (ResNet50: no conv bias, 2 per BN channel)."""
    return _net(task, image_size).params


def main(argv):
    if len(argv) > 2 or (argv and argv[0] in ("-h", "--help")):
        print(__doc__)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    tasks = [argv[0]] if argv else TASKS
    print(f"{'task':12} {'px':>4} {'params':>12} {'fwd GMAC':>9} {'train GFLOP/img':>16}")
    for t in tasks:
        size = int(argv[1]) if len(argv) > 1 else DEFAULT_SIZE.get(t, 224)
        try:
            print(f"{t:12} {size:>4} {params(t, size):>12,} {forward_macs(t, size) / 1e9:>9.3f} "
                  f"{train_flops(t, size) / 1e9:>16.3f}")
        except ValueError as e:
            print(f"flops.py: error: {e}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
