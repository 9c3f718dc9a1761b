"""A PyTorch training script that runs on minigrad: only its import lines name minigrad.

It trains a small network on scikit-learn's handwritten digits the way a PyTorch script does:
a Dataset split for validation, DataLoaders, an nn.Module with dropout, cross-entropy, Adam with a
learning-rate schedule, gradient clipping, a forward hook that watches the hidden activations,
a gradient hook, a checkpoint saved and loaded into a fresh model, and evaluation under
no_grad. Swap the four minigrad imports for

    import torch
    from torch import nn
    import torch.nn.functional as F
    from torch.utils.data import DataLoader, TensorDataset, random_split

and the same file runs on PyTorch: the road for a script that outgrows minigrad.

Run it with ``python examples/pytorch_port.py [--epochs N] [--out FOLDER]``.
"""

import argparse
import os

import numpy as np
from sklearn.datasets import load_digits

import minigrad as torch
import minigrad.nn.functional as F
from minigrad import nn
from minigrad.utils.data import DataLoader, TensorDataset, random_split


class Net(nn.Module):
    def __init__(self, hidden=64):
        super().__init__()
        self.fc1 = nn.Linear(64, hidden)
        self.drop = nn.Dropout(0.1)
        self.fc2 = nn.Linear(hidden, 10)

    def forward(self, x):
        return self.fc2(self.drop(F.relu(self.fc1(x))))


def accuracy(model, loader):
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for images, labels in loader:
            predictions = model(images).argmax(dim=1)
            correct += (predictions == labels).sum().item()
            total += labels.size(0)
    model.train()
    return correct / total


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--out", default="example-output")
    args = parser.parse_args(argv)
    torch.manual_seed(0)

    digits = load_digits()
    images = torch.tensor(digits.data / 16.0, dtype=torch.float32)
    labels = torch.tensor(digits.target, dtype=torch.long)
    dataset = TensorDataset(images, labels)
    generator = torch.Generator().manual_seed(0)
    train_set, val_set = random_split(dataset, [0.75, 0.25], generator=generator)
    train_loader = DataLoader(train_set, batch_size=64, shuffle=True, generator=generator)
    val_loader = DataLoader(val_set, batch_size=256)

    model = Net()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=5, gamma=0.5)

    # A forward hook watches the hidden layer; a gradient hook watches the logits' gradient.
    dead_fraction = []
    model.fc1.register_forward_hook(
        lambda module, inputs, output: dead_fraction.append((output <= 0).float().mean().item())
    )
    logit_grad_norms = []

    for epoch in range(args.epochs):
        for batch_images, batch_labels in train_loader:
            logits = model(batch_images)
            logits.register_hook(lambda grad: logit_grad_norms.append(grad.norm().item()))
            loss = F.cross_entropy(logits, batch_labels)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            optimizer.step()
        scheduler.step()
        print(f"epoch {epoch + 1:2d}  loss {loss.item():.4f}  "
              f"validation accuracy {accuracy(model, val_loader):.3f}")  # fmt: skip

    # A checkpoint: the model, the optimizer and the epoch, loaded into a fresh model.
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "digits-checkpoint.pt")
    torch.save({"model": model.state_dict(), "optim": optimizer.state_dict(), "epoch": epoch}, path)
    checkpoint = torch.load(path)
    restored = Net()
    restored.load_state_dict(checkpoint["model"])

    final = accuracy(model, val_loader)
    print(f"validation accuracy {final:.3f}; restored from {path}: "
          f"{accuracy(restored, val_loader):.3f}")  # fmt: skip
    if final < 0.93:
        raise SystemExit(f"the network should learn the digits (>= 93%), got {final:.3f}")
    if accuracy(restored, val_loader) != final or checkpoint["epoch"] != args.epochs - 1:
        raise SystemExit("the checkpoint should restore the trained model exactly")
    if not (0 < np.mean(dead_fraction) < 1 and len(logit_grad_norms) > 0):
        raise SystemExit("the hooks should have watched the training")


if __name__ == "__main__":
    main()
