"""HTML, audio, video and the wandb.plot charts: line_series, bar, histogram, plotly."""

import json

import numpy as np
import plotly.graph_objects as go
import wandb

wandb.init(project="media", config={"sample_rate": 8000})
rate = wandb.config.sample_rate
t = np.linspace(0, 0.25, int(rate * 0.25), endpoint=False)
tone = 0.5 * np.sin(2 * np.pi * 440 * t)
frames = np.zeros((6, 3, 16, 16), dtype=np.uint8)
for i in range(6):
    frames[i, :, :, i * 2:(i * 2) + 4] = 255  # a bar moving right
wandb.log({
    "report": wandb.Html("<h1>Epoch summary</h1><p>loss went down</p>"),
    "tone": wandb.Audio(tone, sample_rate=rate, caption="440 Hz"),
    "moving_bar": wandb.Video(frames, fps=4, caption="moving bar"),
})
xs = list(range(10))
wandb.log({
    "losses": wandb.plot.line_series(xs=xs, ys=[[1 / (x + 1) for x in xs],
                                                [2 / (x + 2) for x in xs]],
                                     keys=["train", "val"], title="Loss", xname="epoch"),
    "class_counts": wandb.plot.bar(
        wandb.Table(columns=["class", "count"], data=[["cat", 12], ["dog", 7], ["fox", 3]]),
        "class", "count", title="Class counts"),
    "scores": wandb.plot.histogram(
        wandb.Table(columns=["score"], data=[[float(v)] for v in np.linspace(0, 1, 50)]),
        "score", title="Scores"),
    "custom": wandb.Plotly(go.Figure(go.Scatter(x=[1, 2, 3], y=[3, 1, 2]))),
})
wandb.finish()
print("RESULT " + json.dumps({"audio_seconds": 0.25, "frames": 6}))
