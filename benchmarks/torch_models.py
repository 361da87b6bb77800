"""PyTorch twins of kerasfer's C3D, i3D-VGG16 and R3D-18 for `benchmarks/models.py`.

Same architectures and parameter counts as `kerasfer.models.get_model("c3d" | "i3d_vgg16"
(input_shape=(None, 112, 112, 3)) | "r3d_18")` with 7 classes, in PyTorch's own idiom
(NCDHW, `nn.Conv3d`, in-place ReLU), plus `forward_flops`, which counts 2 × the multiply-adds of every Conv3d /
Linear with forward hooks.
"""

import torch
from torch import nn

NUM_CLASSES = 7


def torch_c3d():
    layers, channels = [], 3
    for filters, repeats, pool in ((64, 1, (1, 2, 2)), (128, 1, 2), (256, 2, 2), (512, 2, 2),
                                   (512, 2, 2)):
        for _ in range(repeats):
            layers += [nn.Conv3d(channels, filters, 3, padding=1), nn.ReLU(inplace=True)]
            channels = filters
        layers.append(nn.MaxPool3d(pool, pool, ceil_mode=True))  # Caffe round-up at pool5
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(8192, 4096), nn.ReLU(inplace=True),
                         nn.Dropout(0.5), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
                         nn.Dropout(0.5), nn.Linear(4096, NUM_CLASSES))


class TorchI3DVGG16(nn.Module):
    """VGG16 with 3×3×3 convs, 1×2×2 pools, per-frame fc6/fc7 and 128 → C head, mean over T."""

    def __init__(self, size=112):
        super().__init__()
        layers, channels = [], 3
        for filters, repeats in ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)):
            for _ in range(repeats):
                layers += [nn.Conv3d(channels, filters, 3, padding=1), nn.ReLU(inplace=True)]
                channels = filters
            layers.append(nn.MaxPool3d((1, 2, 2), (1, 2, 2)))
        self.features = nn.Sequential(*layers)
        side = size // 32
        self.head = nn.Sequential(nn.Linear(512 * side * side, 4096), nn.ReLU(inplace=True),
                                  nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Dropout(0.5),
                                  nn.Linear(4096, 128), nn.ReLU(inplace=True), nn.Dropout(0.5),
                                  nn.Linear(128, NUM_CLASSES))

    def forward(self, x):
        x = self.features(x)  # (B, C, T, h, w)
        x = x.permute(0, 2, 3, 4, 1).flatten(2)  # per-frame flatten, Keras' h, w, c order
        return self.head(x).mean(dim=1)


class TorchBasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv3d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm3d(cout)
        self.conv2 = nn.Conv3d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm3d(cout)
        self.stride, self.extra = stride, cout - cin

    def forward(self, x):
        shortcut = x
        if self.stride != 1 or self.extra:  # shortcut A: subsample + zero channels
            shortcut = nn.functional.avg_pool3d(x, 1, self.stride)
            shortcut = nn.functional.pad(shortcut, (0, 0, 0, 0, 0, 0, 0, self.extra))
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + shortcut)


class TorchR3D18(nn.Module):
    """Hara et al. 3D ResNet-18, shortcut A, with kerasfer's default 2-step head."""

    def __init__(self):
        super().__init__()
        blocks, cin = [], 64
        for stage, cout in enumerate((64, 128, 256, 512)):
            for block in range(2):
                blocks.append(TorchBasicBlock(cin, cout, 2 if stage and not block else 1))
                cin = cout
        self.stem = nn.Sequential(nn.Conv3d(3, 64, 7, (1, 2, 2), 3, bias=False),
                                  nn.BatchNorm3d(64), nn.ReLU(inplace=True),
                                  nn.MaxPool3d(3, 2, 1))
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(512, NUM_CLASSES)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        x = x.amax(dim=(3, 4)).transpose(1, 2)  # spatial max → (B, T', C)
        return self.fc(x).mean(dim=1)


def forward_flops(model, clip):
    """2 × multiply-adds of every Conv3d / Linear in one forward pass of `clip`."""
    macs = []

    def hook(module, inputs, output):
        if isinstance(module, nn.Conv3d):
            kernel = module.weight[0].numel()  # in/groups · kt · kh · kw
            macs.append(output.numel() * kernel)
        elif isinstance(module, nn.Linear):
            macs.append(output.numel() * module.in_features)

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Conv3d, nn.Linear))]
    with torch.no_grad():
        model(clip)
    for handle in handles:
        handle.remove()
    return 2 * sum(macs)


