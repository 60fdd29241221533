"""On a CUDA device: the batched augmentations give the CPU's numbers, and timing of one SimCLR step's parts."""

import time

import torch

from selfsup.vision.augment import crop_resize, gaussian_blur, random_crop_boxes, simclr_views

torch.manual_seed(0)
images = torch.rand(512, 3, 32, 32)
boxes = random_crop_boxes(512, 32, 32)
sigma = torch.rand(512) * 2
checks = {
    "crop_resize": (crop_resize(images, boxes, 32), crop_resize(images.cuda(), boxes.cuda(), 32).cpu()),
    "gaussian_blur": (gaussian_blur(images, sigma, 3), gaussian_blur(images.cuda(), sigma.cuda(), 3).cpu()),
}
for name, (cpu, gpu) in checks.items():
    print(f"{name}: max |cuda - cpu| = {float((cpu - gpu).abs().max()):.2e}")
views = simclr_views(32).cuda()
batch = torch.randint(0, 256, (512, 3, 32, 32), dtype=torch.uint8, device="cuda")
for _ in range(3):
    views(batch)
torch.cuda.synchronize()
start = time.perf_counter()
for _ in range(20):
    views(batch)
torch.cuda.synchronize()
print(f"SimCLR two-view augmentation of 512 images on {torch.cuda.get_device_name()}: "
      f"{(time.perf_counter() - start) / 20 * 1e3:.2f} ms")
