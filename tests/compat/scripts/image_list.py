"""A list of images under one key per step, as wandb scripts commonly log sample batches."""

import json

import numpy as np
import wandb

wandb.init(project="image-list")
rng = np.random.default_rng(1)
for _step in range(2):
    batch = (rng.random((4, 12, 12)) * 255).astype(np.uint8)
    wandb.log({"examples": [wandb.Image(img, caption=f"sample {i}")
                            for i, img in enumerate(batch)], "step_mean": float(batch.mean())})
wandb.finish()
print("RESULT " + json.dumps({"per_step": 4, "steps": 2}))
