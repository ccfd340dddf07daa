#!/usr/bin/env python3
"""Training images/sec of AlexNet, VGG16, ResNet50 or tiny on fake ImageNet in plain TensorFlow (the
floor under the APIs): one batch of random pixels and valid labels on the host. The lines that say
`bench.` (bench.py, beside this file) are the measurement."""
import bench
args = bench.parse("imagenet", "tf", __doc__)

# ---- framework and devices ---------------------------------------------------------------------
import tensorflow as tf
DEVICE = bench.device(tf.config.list_physical_devices("GPU"), logical_cpus=True)
strategy = tf.distribute.get_strategy()  # the default: one device
if args.num_gpu > 1:  # NUM_GPU replicas in data parallel
    strategy = tf.distribute.MirroredStrategy([f"/{DEVICE}:{i}" for i in range(args.num_gpu)])
DTYPE = tf.as_dtype(bench.AMP_DTYPE[DEVICE] if args.amp else "float32")  # variables, loss: float32
NCHW = args.data_format == "channels_first"  # the convolutions' layout (C, HW: its axes)
FORMAT, C, HW = ("NCHW", 1, [2, 3]) if NCHW else ("NHWC", 3, [1, 2])
SYNC = {True: "AUTO", False: "ON_READ"}  # batch norm's moving averages: each replica its own

# ---- data: one fixed global batch, on the host, repeated by tf.data ------------------------------
data = tf.data.Dataset.from_tensors(bench.fake_imagenet(args.batch * args.replicas))  # global
batches = iter(strategy.experimental_distribute_dataset(data.repeat().prefetch(tf.data.AUTOTUNE)))

# ---- model: the same layers in every script; every conv and fc 4096 ends in a ReLU --------------
net = tf.Module()  # its variables, by name, made by the first step (mirrored with NUM_GPU > 1)
net.vars = {}
glorot = tf.compat.v1.glorot_uniform_initializer()  # Keras's default kernels, TensorFlow's own
def var(name, shape, fill=None, trainable=True):  # a kernel (glorot) or a vector of `fill`
    if name not in net.vars:
        init = glorot(shape) if fill is None else tf.fill(shape, fill)
        sync = tf.VariableSynchronization[SYNC[trainable]]
        net.vars[name] = tf.Variable(init, trainable, name=name, synchronization=sync)
    return net.vars[name]
def conv(x, name, filters, size, stride=1, padding="SAME"):  # + bias, or (ResNet50) batch norm
    w = tf.cast(var(name, [size, size, x.shape[C], filters]), DTYPE)  # (float32: a no-op)
    x = tf.nn.conv2d(x, w, stride, padding, FORMAT)
    if args.model == "resnet50":  # no bias, then batch norm: TensorFlow's fused kernel
        return batch_norm(x, name, filters)
    return tf.nn.bias_add(x, tf.cast(var(name + "/b", [filters], 0.0), DTYPE), FORMAT)
def batch_norm(x, name, filters):  # momentum 0.9 (the kernel computes the averages), epsilon 1e-5
    moving = [var(f"{name}/{s}", [filters], v, False) for s, v in (("mean", 0.0), ("var", 1.0))]
    x, *new = tf.compat.v1.nn.fused_batch_norm(  # gamma and beta float32, as the kernel takes them
        x, var(name + "/gamma", [filters], 1.0), var(name + "/beta", [filters], 0.0), *moving,
        1e-5, FORMAT, exponential_avg_factor=0.1)
    for v, value in zip(moving, new):  # each replica its own, as tensorpack's towers have
        v.assign(value)
    return x
def dense(x, name, units):
    w, b = var(name, [x.shape[-1], units]), var(name + "/b", [units], 0.0)
    return tf.nn.bias_add(x @ tf.cast(w, DTYPE), tf.cast(b, DTYPE))
def alexnet(x):
    x = tf.nn.relu(conv(x, "conv1", 64, 11, 4, "VALID"))
    x = tf.nn.max_pool2d(x, 3, 2, "VALID", FORMAT)
    x = tf.nn.relu(conv(x, "conv2", 192, 5))
    x = tf.nn.max_pool2d(x, 3, 2, "VALID", FORMAT)
    x = tf.nn.relu(conv(x, "conv3", 384, 3))
    x = tf.nn.relu(conv(x, "conv4", 256, 3))
    x = tf.nn.relu(conv(x, "conv5", 256, 3))
    return classifier(tf.nn.max_pool2d(x, 3, 2, "VALID", FORMAT))
def vgg16(x):  # configuration D: 13 convs in 5 blocks, each block ending in a 2x2 pool
    for b, (convs, filters) in enumerate(zip((2, 2, 3, 3, 3), (64, 128, 256, 512, 512)), 1):
        for i in range(1, convs + 1):  # the i-th conv of block b
            x = tf.nn.relu(conv(x, f"conv{b}_{i}", filters, 3))
        x = tf.nn.max_pool2d(x, 2, 2, "VALID", FORMAT)
    return classifier(x)
def classifier(x):  # AlexNet's and VGG16's
    x = tf.reshape(x, [x.shape[0], -1])  # flatten
    x = tf.nn.dropout(tf.nn.relu(dense(x, "fc6", 4096)), 0.5)
    x = tf.nn.dropout(tf.nn.relu(dense(x, "fc7", 4096)), 0.5)
    return dense(x, "fc8", 1000)
def resnet50(x):  # v1: a group's first block has the stride (on conv1) and a projection shortcut
    x = tf.nn.relu(conv(x, "conv0", 64, 7, 2))
    x = tf.nn.max_pool2d(x, 3, 2, "SAME", FORMAT)
    for g, (blocks, filters) in enumerate(zip((3, 4, 6, 3), (64, 128, 256, 512))):
        for b, s in enumerate([2 if g else 1] + [1] * (blocks - 1)):
            short = x if b else conv(x, f"g{g}b{b}/short", filters * 4, 1, s)
            r = tf.nn.relu(conv(x, f"g{g}b{b}/conv1", filters, 1, s))
            r = tf.nn.relu(conv(r, f"g{g}b{b}/conv2", filters, 3))
            x = tf.nn.relu(conv(r, f"g{g}b{b}/conv3", filters * 4, 1) + short)
    return dense(tf.reduce_mean(x, HW), "fc", 1000)  # global average pooling
def tiny(x):  # the per-step overhead task: a 3x3 conv of 16, global average pooling, fc 1000
    x = tf.nn.relu(conv(x, "conv", 16, 3))
    return dense(tf.reduce_mean(x, HW), "fc", 1000)
with strategy.scope():  # TensorFlow's own optimizers, their fused kernels; RMSprop: rho 0.9
    opt = (tf.compat.v1.train.GradientDescentOptimizer(1e-3) if args.model == "resnet50"
           else tf.compat.v1.train.RMSPropOptimizer(1e-3, epsilon=1e-7))
    if DTYPE == tf.float16:  # dynamic loss scaling from 2**15, as Keras's; on an overflow the
        scale = tf.compat.v1.mixed_precision.DynamicLossScale()  # update is skipped, the scale
        opt = tf.compat.v1.mixed_precision.MixedPrecisionLossScaleOptimizer(opt, scale)  # halved
def replica_step(images, labels):  # a replica's share of the global batch
    with tf.GradientTape() as tape:
        x = tf.transpose(images / 255.0, [0, 3, 1, 2]) if NCHW else images / 255.0  # [0, 1] first
        logits = tf.cast(globals()[args.model](tf.cast(x, DTYPE)), tf.float32)
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)
        loss = tf.nn.compute_average_loss(losses)  # over the global batch (sum / global batch)
        scaled = loss * scale() if DTYPE == tf.float16 else loss
    grads = tape.gradient(scaled, net.trainable_variables)
    if DTYPE == tf.float16:  # unscaled; an overflow halves the scale and skips the update
        grads = [g / scale() for g in grads]
    opt.apply_gradients(zip(grads, net.trainable_variables))  # summed over the replicas
    return loss
@tf.function(jit_compile=args.xla)  # --xla: the whole step one XLA program, as Keras compiles it
def step(images, labels):
    return strategy.reduce("sum", strategy.run(replica_step, (images, labels)), axis=None)
@tf.function
def train(batches):  # the next batch from tf.data, then the step (XLA cannot take the iterator)
    return step(*next(batches))

# ---- train: a plain loop, bench's clock around each epoch ---------------------------------------
strategy.run(replica_step, next(batches))  # a first step, run eagerly, makes the variables
bench.train_begin(bench.tf_keys(train, net, strategy, batches))
for epoch in range(args.epochs):
    bench.epoch_begin()
    losses = [train(batches) for _ in range(args.steps)]  # the loss tensors, read once an epoch
    bench.epoch_end(float(tf.reduce_mean(losses)))  # the mean loss of the epoch's steps
bench.train_end()
