# Generated from source/05_training/training.ipynb by coursework.export. Edit the notebook, not this file.
import numpy as np


class DataLoader:
    """Batches of the rows of some arrays, such as (inputs, targets), in order or shuffled from a seed."""

    def __init__(self, dataset, batch_size=1, shuffle=False, seed=None, drop_last=False):
        dataset = tuple(np.asarray(array) for array in dataset)
        lengths = [len(array) for array in dataset]
        if not dataset or len(set(lengths)) != 1:
            raise ValueError(f"a dataset is a tuple of arrays with the same number of rows; got lengths {lengths}")
        if not (isinstance(batch_size, (int, np.integer)) and batch_size >= 1):
            raise ValueError(f"batch_size must be a whole number of examples, at least 1; got {batch_size!r}")
        self.dataset, self.batch_size, self.shuffle, self.drop_last = dataset, int(batch_size), shuffle, drop_last
        self.rng = np.random.default_rng(seed)

    def __iter__(self):
        n = len(self.dataset[0])
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        end = n - n % self.batch_size if self.drop_last else n
        for start in range(0, end, self.batch_size):
            batch = order[start:start + self.batch_size]
            yield tuple(array[batch] for array in self.dataset)

    def __len__(self):
        n = len(self.dataset[0])
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


def save(state_dict, path):
    """Write {name: array} (such as Module.state_dict()) to the .npz file `path`: numbers only, no pickle."""
    arrays = {name: np.asarray(getattr(value, "data", value)) for name, value in state_dict.items()}
    with open(path, "wb") as file:
        np.savez(file, **arrays)


def load(path):
    """{name: array}, as `save` wrote it; refuses files that hold anything but arrays of numbers."""
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}
