"""Images from HWC, CHW and grayscale arrays, a PIL image and a file path, with captions."""

import json

import numpy as np
import wandb
from PIL import Image as PILImage

wandb.init(project="images", config={"size": 16})
size = wandb.config.size
rng = np.random.default_rng(0)
for step in range(3):
    hwc = (rng.random((size, size, 3)) * 255).astype(np.uint8)
    chw = rng.random((3, size, 2 * size))  # floats in [0, 1], channels first
    gray = np.tile(np.linspace(0, 1, size), (size, 1)) * (step + 1) / 3
    wandb.log({
        "samples/hwc": wandb.Image(hwc, caption=f"random step {step}"),
        "samples/chw": wandb.Image(chw, caption="channels first"),
        "samples/gray": wandb.Image(gray, caption="gradient"),
        "brightness": float(gray.mean()),
    })

pil = PILImage.new("RGB", (20, 10), (255, 0, 0))
pil.save("red.png")
wandb.log({"pil": wandb.Image(pil, caption="PIL"), "from_path": wandb.Image("red.png")})
wandb.finish()
print("RESULT " + json.dumps({"size": size}))
