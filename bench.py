"""The measurement shared by the benchmark scripts: one copy, read once.

A benchmark script holds only the API it compares (data feeding, model, optimizer, trainer or
`fit`) and calls this module for everything else (CONTRACT.md is the promise it keeps):

- `parse(family, framework, doc)`: the family's command line and its checks, before TensorFlow
  is imported (it sets `CUDA_VISIBLE_DEVICES` for NUM_GPU=0 and, for TF1 graphs with --xla,
  `TF_XLA_FLAGS`). Bad input: one line, exit 2.
- `device(gpus, logical_cpus=False)`: the device rules, once TensorFlow has listed the visible
  GPUs (for tf.distribute, it splits the CPU into NUM_GPU logical devices when there is no GPU).
- `keras_gpus()`: the GPUs that Keras's backend (TensorFlow, JAX or torch) sees, for `device`.
- `cifar_data()`: around a CIFAR loader, turns a missing or broken file into one line, exit 2.
- `fake_imagenet(n)`: the fake ImageNet batch of n images and labels, as numpy arrays.
- `steps(examples)`: steps per epoch (`--steps`, or one pass over the data).
- the clock, called from each API's own callback: `train_begin(keys)`, `epoch_begin()`,
  `epoch_end(loss)`, `train_end()`. They print the `versions`, `model`, `throughput` and
  `summary` lines (`versions(installed)`: the libraries' versions, read in this process).
- the fingerprint readers, which read every key from the objects that train:
  `graph_keys(sess, replicas)` for TF1 graphs (tensorpack, tflearn), `keras_keys(model)`.
- the rules as plain functions, testable without TensorFlow: `check`, `device_rule`,
  `xla_rule`, `input_kind`, `bn_kind`, `variables_kind`, `hyperparameters`, `median_rate`.

Only the standard library is imported here at import time: TensorFlow reads the environment that
`parse` sets when it starts. A script copied elsewhere needs this file beside it, or its lines
that say `bench.` deleted (README lists them).
"""
import argparse
import contextlib
import importlib.util
import os
import re
import statistics
import sys
import time

# tiny: one small conv and a dense layer, a step's compute well under a millisecond: what a step
# costs beyond its compute (the per-step overhead task)
TASKS = {"cifar10-cnn": ("cifar10-cnn",), "imagenet": ("alexnet", "vgg16", "resnet50", "tiny")}
MIN_SIZE = {"alexnet": 67, "vgg16": 32, "resnet50": 32, "tiny": 1}  # smaller: a pool gets no input
BATCH = {"resnet50": 32, "tiny": 8}  # the default batch per device where it is not 64
CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
GRAPH_MODE = ("tensorpack", "tflearn")  # TF1 graphs, run by a tf.compat.v1 session
DISTRIBUTE = ("keras", "tf")  # tf.distribute's replicas: on a CPU, NUM_GPU logical devices
FORMATS = ("channels_last", "channels_first")  # NHWC, NCHW
# Keras 3's backends (--backend), and the command that installs the ones not in every environment
BACKENDS = ("tensorflow", "jax", "torch")
REQUIREMENTS = {"jax": "requirements.txt", "torch": "requirements-torch.txt"}  # (the sweep's too)
INSTALL = {b: f".venv/bin/pip install -r {f}" for b, f in REQUIREMENTS.items()}
# TensorFlow's mixed-precision graph rewrites (a session config's rewrite_options): float16 on
# NVIDIA GPUs, bfloat16 on CPUs (the latter only where TensorFlow runs its oneDNN kernels).
AMP_REWRITE = {"gpu": "auto_mixed_precision", "cpu": "auto_mixed_precision_onednn_bfloat16"}
AMP_DTYPE = {"gpu": "float16", "cpu": "bfloat16"}
HYPER = {"lr": "lr", "alpha": "lr", "rho": "rho", "momentum": "momentum", "epsilon": "epsilon"}
run = argparse.Namespace()  # this process's run: its arguments, device, steps and epoch rates
# The libraries whose versions a run reports, as {module: distribution}: those it imported.
LIBRARIES = {"tensorflow": "tensorflow", "keras": "keras", "tf_keras": "tf-keras",
             "tensorpack": "tensorpack", "tflearn": "tflearn", "numpy": "numpy", "jax": "jax",
             "torch": "torch"}


def fail(msg):
    """Bad input or missing data: one line on stderr, exit code 2 (no traceback)."""
    print(f"{os.path.basename(sys.argv[0])}: error: {msg}", file=sys.stderr, flush=True)
    sys.exit(2)


# ---- command line ------------------------------------------------------------------------------

def parser(family, doc):
    """The command line of a family: the same options, spelling and meaning in all its scripts."""
    p = argparse.ArgumentParser(description=doc)
    p.error = fail
    p.add_argument("num_gpu", nargs="?", type=int, default=1, metavar="NUM_GPU",
                   help="devices in data parallel; 0 = CPU")
    if family == "imagenet":
        p.add_argument("--model", choices=TASKS["imagenet"], default="resnet50")
        p.add_argument("--image-size", type=int, default=224, help="height and width in pixels")
        p.add_argument("--epochs", type=int, default=4)
        p.add_argument("--steps", type=int, default=100, help="steps per epoch")
        p.add_argument("--batch", type=int, default=0,
                       help="batch per device (default: 64; resnet50: 32; tiny: 8)")
    else:
        p.add_argument("--epochs", type=int, default=5)
        p.add_argument("--steps", type=int, default=0, help="steps per epoch (default: one pass)")
        p.add_argument("--batch", type=int, default=32, help="batch per device")
        p.add_argument("--data", help="folder holding cifar-10-batches-py/ (default: download)")
    p.add_argument("--xla", action="store_true",
                   help="compile with XLA (off by default, in every API)")
    p.add_argument("--amp", action="store_true",
                   help="mixed precision: bfloat16 on the CPU, float16 (with loss scaling) on a "
                        "GPU; variables and the loss stay float32")
    p.add_argument("--data-format", choices=FORMATS, default="channels_last",
                   help="layout of the convolutions (channels_first: not in tflearn, and on the "
                        "CPU only with oneDNN)")
    p.add_argument("--backend", choices=BACKENDS,
                   help="Keras's backend (default: $KERAS_BACKEND, else tensorflow); the other "
                        "APIs run on TensorFlow only")
    return p


def check(family, args):
    """The checks on parsed arguments: None, or the one line that says what is wrong."""
    if family == "imagenet":
        low = MIN_SIZE[args.model]
        if args.num_gpu < 0 or min(args.epochs, args.steps) < 1 or args.batch < 0 \
                or args.image_size < low:
            return (f"needs NUM_GPU >= 0, --epochs/--steps/--batch >= 1, "
                    f"--image-size >= {low} for {args.model}")
        return None
    if args.num_gpu < 0 or min(args.epochs, args.batch) < 1 or args.steps < 0:
        return (f"needs NUM_GPU >= 0 (got {args.num_gpu}), --epochs/--batch >= 1, "
                f"--steps >= 0")
    if args.data and not os.path.isdir(os.path.join(args.data, "cifar-10-batches-py")):
        return (f"no cifar-10-batches-py/ folder in {args.data}: pass --data DIR holding "
                f"cifar-10-batches-py/ extracted from {CIFAR_URL}")
    return None


def backend_check(framework, args):
    """The checks on the backend that is to train: None, or the one line that says what is wrong
    (before it is imported: a backend not installed is found by its module)."""
    b = args.backend
    if b not in BACKENDS:  # from KERAS_BACKEND
        return f"KERAS_BACKEND={b}: the Keras scripts run on {', '.join(BACKENDS)}"
    if b != "tensorflow" and framework != "keras":
        return f"--backend {b}: {framework} runs on TensorFlow only (Keras alone has backends)"
    if importlib.util.find_spec(b) is None:
        return f"--backend {b}: {b} is not installed; install it with: {INSTALL.get(b, '')}"
    if b == "torch" and args.num_gpu > 1:
        return (f"NUM_GPU={args.num_gpu} with --backend torch: Keras has no data parallel on "
                "torch (keras.distribution runs on JAX only); use 0 (CPU) or 1")
    if b == "torch" and args.xla:
        return ("--xla with --backend torch: torch has no XLA (Keras's jit_compile=True on "
                "torch means torch.compile)")
    return None


def parse(family, framework, doc, argv=None):
    """Parse and check the command line; returns the arguments, with `task`, `framework`,
    `replicas` (asked for) and the per-device `batch` filled in. Call before importing
    TensorFlow: with NUM_GPU=0 it hides the GPUs, and with --xla in a TF1 graph it switches
    TensorFlow's auto-clustering on (TF_XLA_FLAGS; Keras compiles its step itself). For Keras it
    sets KERAS_BACKEND (--backend); on JAX, which always compiles, `xla` is True, and NUM_GPU > 1
    asks XLA for that many CPU devices (XLA_FLAGS; used only where no GPU is seen)."""
    args = parser(family, doc).parse_args(argv)
    problem = check(family, args)
    if problem:
        fail(problem)
    args.task = args.model if family == "imagenet" else family
    args.image_size = args.image_size if family == "imagenet" else 32  # CIFAR-10 is 32x32
    args.batch = args.batch or BATCH.get(args.task, 64)
    args.framework, args.replicas = framework, max(args.num_gpu, 1)
    args.backend = args.backend or (os.environ.get("KERAS_BACKEND", "tensorflow")
                                    if framework == "keras" else "tensorflow")
    problem = backend_check(framework, args)
    if problem:
        fail(problem)
    if args.data_format == "channels_first" and framework == "tflearn":
        fail("--data-format channels_first: tflearn's layers are NHWC (channels_last) only")
    if args.num_gpu == 0:
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # hide the GPUs: train on the CPU
    if args.xla and framework in GRAPH_MODE:  # TensorFlow's auto-clustering, on CPUs too
        os.environ["TF_XLA_FLAGS"] = "--tf_xla_auto_jit=1 --tf_xla_cpu_global_jit"
    if framework == "keras":
        os.environ["KERAS_BACKEND"] = args.backend  # read once, when Keras is imported
    if args.backend == "jax":  # JAX compiles every step with XLA (jit_compile=False: op by op)
        args.xla = True
    if args.backend == "jax" and args.num_gpu > 1:  # N CPU devices for N replicas (no GPU seen)
        flag = f"--xla_force_host_platform_device_count={args.num_gpu}"
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flag}".strip()
    run.args, run.steps = args, args.steps
    run.tag = f"framework={framework} task={args.task} gpus={args.num_gpu}"
    return args


# ---- devices -----------------------------------------------------------------------------------

def device_rule(framework, num_gpu, gpus, xla=False):
    """Where NUM_GPU replicas train when `gpus` GPUs are visible: (device, error, warning)."""
    if num_gpu > gpus > 0:
        return None, f"NUM_GPU={num_gpu} but only {gpus} GPU(s) are visible", None
    if num_gpu > 1 and framework == "tflearn":
        return None, (f"NUM_GPU={num_gpu}: tflearn has no data-parallel trainer, "
                      "use 0 (CPU) or 1"), None
    if num_gpu > 1 and gpus == 0 and xla and framework in DISTRIBUTE:
        return None, (f"--xla with NUM_GPU > 1 needs GPUs: on the CPU, {framework}'s replicas "
                      "(tf.distribute) are logical devices XLA cannot run"), None
    device = "gpu" if num_gpu and gpus else "cpu"
    if num_gpu > 1 and gpus == 0:
        return device, None, f"warning: no GPU visible, running {num_gpu} replicas on the CPU"
    return device, None, None


def cpu_rule(framework, amp, data_format, onednn_on, avx512):
    """What a CPU cannot train without TensorFlow's oneDNN kernels (or, for bfloat16 in NCHW,
    without AVX-512, where oneDNN runs bfloat16): None, or the one line why."""
    if onednn_on and amp and data_format == "channels_first" and not avx512:
        return ("--amp with --data-format channels_first on the CPU needs AVX-512: oneDNN runs "
                "bfloat16 only there, and TensorFlow's own bfloat16 kernels are NHWC only")
    if onednn_on:
        return None
    if data_format == "channels_first":
        return ("--data-format channels_first on the CPU needs TensorFlow's oneDNN kernels, off "
                "here: its own CPU kernels are NHWC only (Conv2DCustomBackpropFilterOp, "
                "MaxPoolingOp); set TF_ENABLE_ONEDNN_OPTS=1")
    if amp and framework in GRAPH_MODE:
        return ("--amp on the CPU needs TensorFlow's oneDNN kernels, off here: its bfloat16 graph "
                "rewrite (auto_mixed_precision_onednn_bfloat16) runs only with them; set "
                "TF_ENABLE_ONEDNN_OPTS=1")
    return None


def cpu_flags():
    """The CPU's feature flags (/proc/cpuinfo), empty where they cannot be read."""
    try:
        with open("/proc/cpuinfo") as f:
            return next((line.split(":", 1)[1].split() for line in f
                         if line.startswith("flags")), [])
    except OSError:
        return []


def device(gpus, logical_cpus=False):
    """Apply the device rules to the visible GPUs (a count or TensorFlow's list of them):
    returns "gpu" or "cpu", or exits 2 with one line. With NUM_GPU > 1 replicas and no GPU, and
    `logical_cpus` (for tf.distribute), TensorFlow's CPU becomes NUM_GPU logical devices."""
    gpus = gpus if isinstance(gpus, int) else len(gpus)
    n = run.args.num_gpu
    tf_backend = run.args.backend == "tensorflow"  # JAX's CPU replicas are XLA's own devices
    run.device, error, warning = device_rule(run.args.framework, n, gpus,
                                             run.args.xla and tf_backend)
    if error:
        fail(error)
    if run.device == "cpu" and (run.args.amp or run.args.data_format == "channels_first") \
            and tf_backend:  # TensorFlow's CPU kernels
        error = cpu_rule(run.args.framework, run.args.amp, run.args.data_format, onednn(),
                         "avx512f" in cpu_flags())
        if error:
            fail(error)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    if warning and logical_cpus and tf_backend:
        import tensorflow as tf
        logical = [tf.config.LogicalDeviceConfiguration()] * n
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, logical)
    return run.device


def keras_gpus():
    """The GPUs that Keras's backend sees: TensorFlow's list of them, JAX's, or torch's count."""
    if run.args.backend == "jax":
        import jax
        return [d for d in jax.devices() if d.platform == "gpu"]
    if run.args.backend == "torch":
        import torch
        return torch.cuda.device_count()
    import tensorflow as tf
    return tf.config.list_physical_devices("GPU")


# ---- data --------------------------------------------------------------------------------------

@contextlib.contextmanager
def cifar_data():
    """Around an API's CIFAR-10 loader: a missing, truncated or undownloadable file -> exit 2."""
    try:
        yield
    except Exception as e:
        fail(f"cannot load CIFAR-10 ({type(e).__name__}: {e}); pass --data DIR holding "
             f"cifar-10-batches-py/ extracted from {CIFAR_URL}")


def fake_imagenet(n):
    """Fake ImageNet: n random images (float32 pixels in [0, 255)) and valid labels of the 1000
    classes, the same in every API that is handed arrays; one constant batch on the host."""
    import numpy as np
    size = run.args.image_size
    x = np.random.default_rng(0).uniform(0, 255, (n, size, size, 3)).astype("float32")
    return x, np.random.default_rng(1).integers(0, 1000, n)


def steps(examples):
    """Steps per epoch: --steps, or one pass over `examples` in whole global batches."""
    run.steps = run.args.steps or examples // (run.args.batch * run.args.replicas)
    return run.steps


# ---- the clock: CONTRACT.md's lines --------------------------------------------------------

def median_rate(rates):
    """The summary: the median images/sec of the epochs after the warm-up (epoch 1 alone when
    only one epoch ran)."""
    return statistics.median(rates[1:] or rates)


def versions(installed=False):
    """{"python": version, distribution: version} of the LIBRARIES this process imported (all of
    them that are installed, with installed=True), read from their installed metadata."""
    import importlib.metadata
    import platform
    out = {"python": platform.python_version()}
    for module, dist in LIBRARIES.items():
        if installed or module in sys.modules:
            with contextlib.suppress(importlib.metadata.PackageNotFoundError):
                out[dist] = importlib.metadata.version(dist)
    return out


def train_begin(keys):
    """Print the versions line (what made this run) and the model line (the fingerprint) before
    the first step."""
    run.replicas, run.rates = int(keys["replicas"]), []
    print(f"\nversions {run.tag}", *[f"{k}={v}" for k, v in versions().items()], flush=True)
    print(f"\nmodel {run.tag}", *[f"{k}={v}" for k, v in keys.items()], flush=True)


def epoch_begin():
    run.start = time.perf_counter()


def epoch_end(loss):
    """Images/sec of the epoch that just ended, from its first step to its last, all replicas."""
    seconds = time.perf_counter() - run.start
    run.rates.append(run.steps * run.args.batch * run.replicas / seconds)
    print(f"\nthroughput {run.tag} epoch={len(run.rates)} images_per_sec={run.rates[-1]:.1f} "
          f"loss={float(loss):.4f}", flush=True)


def train_end():
    """The summary line, after at least one epoch (a run that failed before has none)."""
    if not run.rates:
        return
    print(f"\nsummary {run.tag} images_per_sec={median_rate(run.rates):.1f}", flush=True)


# ---- the fingerprint: rules ----------------------------------------------------------------------

def number(v):
    """A hyperparameter as the model line prints it: `none` when zero or not used."""
    v = float(v) if v is not None else 0.0
    return f"{v:g}" if v else "none"


def onednn():
    """Whether TensorFlow runs its oneDNN CPU kernels in this process: on by default only on some
    CPUs (the AVX512 ones seen here), switched by TF_ENABLE_ONEDNN_OPTS before TensorFlow starts."""
    from tensorflow.python.util import _pywrap_util_port
    return bool(_pywrap_util_port.IsMklEnabled())


def xla_rule(global_jit_level, xla_flags, device):
    """Whether TensorFlow XLA-compiles a TF1 graph: auto-clustering is on with the session's global
    JIT level or --tf_xla_auto_jit in TF_XLA_FLAGS, and on a CPU only with
    --tf_xla_cpu_global_jit as well."""
    flags = xla_flags.split()
    auto = global_jit_level > 0 or any(re.fullmatch(r"--tf_xla_auto_jit=[12]", f) for f in flags)
    return auto and (device == "gpu" or "--tf_xla_cpu_global_jit" in flags)


def input_kind(op_types):
    """How a batch reaches a TF graph, from its op types."""
    queue = any(t.startswith("QueueDequeue") for t in op_types)
    if "Unstage" in op_types:
        return "queue+staging" if queue else "staging"
    if queue:
        return "queue"
    return "tf.data" if any(t.startswith("IteratorGetNext") for t in op_types) else "feed_dict"


def bn_kind(op_types):
    """Batch norm from the op types: TensorFlow's fused kernel, elementwise ops, or none (the
    reciprocal square root: TensorFlow's `Rsqrt`, JAX's `rsqrt`, torch's `rsqrt`/`rsqrt_`)."""
    if any(t.startswith("FusedBatchNorm") for t in op_types):
        return "fused"
    return "composite" if {"Rsqrt", "rsqrt", "rsqrt_"} & set(op_types) else "none"


def variables_kind(op_types):
    """TF2 resource variables (VarHandleOp) or TF1 reference variables (VariableV2), from the op
    types of a graph's trainable variables."""
    if "VarHandleOp" in op_types:
        return "resource"
    return "reference" if "VariableV2" in op_types or "Variable" in op_types else "none"


def hyperparameters(arg_names, values):
    """An update kernel's hyperparameters by its input names (lr or alpha, rho, momentum,
    epsilon), never by position: {key: value}, `none` for those it does not take."""
    keys = {k: "none" for k in ("lr", "rho", "momentum", "epsilon")}
    for name, v in zip(arg_names, values):
        if name in HYPER:
            keys[HYPER[name]] = number(v)
    return keys


# ---- the fingerprint: readers --------------------------------------------------------------------

def _constant(tensor):
    """The value of a constant tensor, through Identity, Cast and a function's captured inputs
    (float16 loss scaling applies the update inside a cond branch); None when it is not one."""
    import tensorflow as tf
    while tensor.op.type in ("Identity", "Cast", "Placeholder"):
        if tensor.op.type != "Placeholder":
            tensor = tensor.op.inputs[0]
            continue
        outer = [e for e, i in getattr(tensor.graph, "captures", ()) if i.name == tensor.name]
        if not outer or not tf.is_symbolic_tensor(outer[0]):  # an eager capture: a variable's
            return None  # handle (tf.function)
        tensor = outer[0]
    op = tensor.op
    return tf.make_ndarray(op.get_attr("value")) if op.type == "Const" else None


def _graphs(graph):
    """A graph and the graphs of the functions it calls, nested ones included (a cond branch, a
    tf.function called by another)."""
    return [graph] + [f.graph for f in graph._functions.values() if hasattr(f, "graph")]


def _update_op(graph):
    """The optimizer's update kernel in a TF1 graph, or in a function it calls (a cond branch)."""
    return next(o for g in _graphs(graph) for o in g.get_operations()
                if re.fullmatch(r"(Resource)?Apply\w+", o.type))


def amp_rule(rewrite_on, device, onednn_on, gpu_cc=None):
    """The dtype that TensorFlow's mixed-precision graph rewrite gives a TF1 graph's convs, or None
    when it does not rewrite: float16 on GPUs of compute capability 7.0 or newer, bfloat16 on a
    CPU only while oneDNN's kernels run (rewrite_on: the device's AMP_REWRITE is ON)."""
    if not rewrite_on:
        return None
    if device == "cpu":
        return AMP_DTYPE["cpu"] if onednn_on else None
    return AMP_DTYPE["gpu"] if gpu_cc and tuple(gpu_cc) >= (7, 0) else None


def _gpu_cc():
    """The oldest compute capability among the visible GPUs, or None."""
    import tensorflow as tf
    ccs = [tf.config.experimental.get_device_details(g).get("compute_capability")
           for g in tf.config.list_physical_devices("GPU")]
    return min(ccs) if ccs and all(ccs) else None


def graph_keys(sess, replicas):
    """The fingerprint of a TF1 graph that trains in `sess`: its update kernel and that kernel's
    inputs, TensorFlow's clip_by_global_norm, the first Conv2D op, the session config (its
    mixed-precision rewrite: the dtype is the one TensorFlow's rule gives the convs), the dynamic
    loss scale's variable."""
    import tensorflow as tf
    graph, config = sess.graph, sess._config or tf.compat.v1.ConfigProto()
    ops = graph.get_operations()
    types = {o.type for o in ops}
    apply = _update_op(graph)
    rewrites = config.graph_options.rewrite_options
    names = [a.name for a in apply.op_def.input_arg]
    conv = next(o for o in ops if o.type == "Conv2D")
    clip = [o for o in ops if re.search(r"(^|/)clip_by_global_norm(_\d+)?/mul$", o.name)]
    trainable = graph.get_collection("trainable_variables", "^(?!tower)")  # tower 0's only
    return dict(
        replicas=replicas, device=run.device, batch=run.args.batch,
        image_size=run.args.image_size, optimizer=re.sub(r"^(Resource)?Apply", "", apply.type),
        params=sum(v.shape.num_elements() for v in trainable),
        **hyperparameters(names, [_constant(t) for t in apply.inputs]),
        clip=number(_constant(clip[0].inputs[0])) if clip else "none",
        dtype=amp_rule(getattr(rewrites, AMP_REWRITE[run.device]) == 1, run.device, onednn(),
                       _gpu_cc()) or conv.get_attr("T").name,
        loss_scale="dynamic" if any(o.name.endswith("current_loss_scale") and o.type in
                                    ("VarHandleOp", "VariableV2") for o in ops) else "none",
        data_format=conv.get_attr("data_format").decode(),
        intra_threads=config.intra_op_parallelism_threads,
        xla=xla_rule(config.graph_options.optimizer_options.global_jit_level,
                     os.environ.get("TF_XLA_FLAGS", ""), run.device), onednn=onednn(),
        input=input_kind(types), bn=bn_kind(types),
        variables=variables_kind({v.op.type for v in trainable}))


def tf_keys(function, module, strategy, *args):
    """The fingerprint of plain TensorFlow: the traced graph of the tf.function that trains,
    `function(*args)`, and of the functions it calls (the update kernel and its inputs, the first
    Conv2D op, XLA's must-compile mark on a call, the input and batch norm ops), the module's
    trainable variables, the dynamic loss scale's variable (read by the step), the tf.distribute
    strategy."""
    import tensorflow as tf
    from tensorflow.python.ops.resource_variable_ops import is_resource_variable
    graph = function.get_concrete_function(*args).graph  # traced once, the trace that runs
    ops = [o for g in _graphs(graph) for o in g.get_operations()]
    types = {o.type for o in ops}
    apply = _update_op(graph)
    conv = next(o for o in ops if o.type == "Conv2D")
    clip = [o for o in ops if re.search(r"(^|/)clip_by_global_norm(_\d+)?/mul$", o.name)]
    trainable = module.trainable_variables
    return dict(
        replicas=strategy.num_replicas_in_sync, device=run.device, batch=run.args.batch,
        image_size=run.args.image_size, optimizer=re.sub(r"^(Resource)?Apply", "", apply.type),
        params=sum(v.shape.num_elements() for v in trainable),
        **hyperparameters([a.name for a in apply.op_def.input_arg],
                          [_constant(t) for t in apply.inputs]),
        clip=number(_constant(clip[0].inputs[0])) if clip else "none",
        dtype=conv.get_attr("T").name,
        loss_scale="dynamic" if any(re.search(r"(^|/)current_loss_scale(:\d+)?$", v.name)
                                    for v in graph.variables) else "none",  # those it reads
        data_format=conv.get_attr("data_format").decode(),
        intra_threads=tf.config.threading.get_intra_op_parallelism_threads(),
        xla=any(o.get_attr("_XlaMustCompile") for o in ops if "_XlaMustCompile" in o.node_def.attr),
        onednn=onednn(), input=input_kind(types), bn=bn_kind(types),
        variables="resource" if all(map(is_resource_variable, trainable)) else "reference")


def _keras_input():
    """The input path of the fit() that is calling back: its epoch iterator's dataset."""
    frame = sys._getframe(1)
    while frame and "epoch_iterator" not in frame.f_locals:
        frame = frame.f_back
    iterator = frame.f_locals["epoch_iterator"] if frame else None
    if getattr(iterator, "_distributed_dataset", None) is not None:
        return "tf.data"
    return type(getattr(iterator, "data_adapter", None)).__name__


def _keras_replicas(model):
    """The replicas of the distribution in effect: TensorFlow's strategy, or Keras's own
    (keras.distribution: JAX) along its batch axis; one where there is none (torch)."""
    import keras
    if keras.backend.backend() == "tensorflow":
        return model.distribute_strategy.num_replicas_in_sync
    distribution = keras.distribution.distribution()
    if distribution is None:
        return 1
    mesh = distribution.device_mesh
    return mesh.shape[mesh.axis_names.index(distribution.batch_dim_name)]


def _forward_ops(model):
    """The op names of the model's forward pass, as its backend traces it (inference: nothing the
    model holds changes): TensorFlow's graph's op types, JAX's jaxpr primitives, or the torch
    functions and tensor methods it calls."""
    import keras
    backend, inputs = keras.backend.backend(), model.inputs[0]
    if backend == "tensorflow":
        import tensorflow as tf
        spec = tf.TensorSpec(inputs.shape, inputs.dtype)
        graph = tf.function(model).get_concrete_function(spec).graph
        return {o.type for o in graph.get_operations()}
    x = keras.ops.zeros((1, *inputs.shape[1:]), inputs.dtype)
    if backend == "jax":
        import jax
        values = [[v.value for v in variables] for variables in
                  (model.trainable_variables, model.non_trainable_variables)]
        return set(re.findall(r"= (\w+)", str(jax.make_jaxpr(model.stateless_call)(*values, x))))
    import torch
    names = set()

    class Record(torch.overrides.TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            names.add(getattr(func, "__name__", ""))
            return func(*args, **(kwargs or {}))

    with torch.no_grad(), Record():
        model(x, training=False)
    return names


def keras_keys(model):
    """The fingerprint of a compiled Keras model, read from it, its optimizer, its distribution
    (TensorFlow's strategy or keras.distribution), its first Conv2D layer and its traced forward
    pass, on any of Keras's backends (`backend`; TensorFlow's threads and oneDNN are `n/a` on the
    others). The optimizer is the one inside the loss scaling that compile() adds for float16."""
    import keras
    import numpy as np
    backend = keras.backend.backend()
    scaled = isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    opt = model.optimizer.inner_optimizer if scaled else model.optimizer
    conv = next(l for l in model.layers if isinstance(l, keras.layers.Conv2D))
    weight = model.trainable_weights[0].value
    threads = "n/a"
    if backend == "tensorflow":
        import tensorflow as tf
        threads = tf.config.threading.get_intra_op_parallelism_threads()
    return dict(
        replicas=_keras_replicas(model), device=run.device, backend=backend,
        batch=run.args.batch, image_size=run.args.image_size, optimizer=type(opt).__name__,
        params=sum(int(np.prod(w.shape)) for w in model.trainable_weights),
        **{k: number(keras.ops.convert_to_numpy(getattr(opt, a, 0))) for k, a in
           (("lr", "learning_rate"), ("rho", "rho"), ("momentum", "momentum"),
            ("epsilon", "epsilon"))},
        clip=next((number(c) for c in (opt.global_clipnorm, opt.clipnorm) if c), "none"),
        dtype=conv.compute_dtype, loss_scale="dynamic" if scaled else "none",
        data_format=conv.data_format, intra_threads=threads, xla=model.jit_compile,
        onednn=onednn() if backend == "tensorflow" else "n/a", input=_keras_input(),
        bn=bn_kind(_forward_ops(model)),
        variables="resource" if hasattr(weight, "handle") else type(weight).__name__)
