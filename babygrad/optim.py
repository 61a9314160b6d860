# Generated from source/05_training/optim.ipynb by coursework.export. Edit the notebook, not this file.
import numpy as np


class Optimizer:
    """Holds the parameters to update; subclasses define `step()`."""

    def __init__(self, params):
        self.params = list(params)
        if not self.params:
            raise ValueError("the optimizer got an empty list of parameters")

    def zero_grad(self):
        for parameter in self.params:
            parameter.grad = None

    def step(self):
        raise NotImplementedError(f"{type(self).__name__} has no step")


def check_at_least(name, value, low=0.0):
    if not value >= low:
        raise ValueError(f"{name} must be at least {low}; got {value}")


class SGD(Optimizer):
    """Stochastic gradient descent, with PyTorch's momentum: v = momentum * v + grad; p -= lr * v."""

    def __init__(self, params, lr, momentum=0.0):
        super().__init__(params)
        check_at_least("lr", lr)
        check_at_least("momentum", momentum)
        self.lr, self.momentum = lr, momentum
        self.velocities = [None] * len(self.params)

    def step(self):
        for index, parameter in enumerate(self.params):
            if parameter.grad is None:
                continue
            step = parameter.grad.data
            if self.momentum:
                velocity = self.velocities[index]
                step = step if velocity is None else self.momentum * velocity + step  # a new array: grads are shared
                self.velocities[index] = step
            parameter.data -= self.lr * step


class Adam(Optimizer):
    """Adam: steps of about lr in each parameter, from running means of the gradient and of its square."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params)
        check_at_least("lr", lr)
        check_at_least("eps", eps)
        if not all(0.0 <= beta < 1.0 for beta in betas):
            raise ValueError(f"betas must be in [0, 1); got {betas}")
        self.lr, self.betas, self.eps = lr, tuple(betas), eps
        self.t = 0
        self.m = [np.zeros_like(parameter.data) for parameter in self.params]
        self.v = [np.zeros_like(parameter.data) for parameter in self.params]

    def step(self):
        self.t += 1
        beta1, beta2 = self.betas
        for index, parameter in enumerate(self.params):
            if parameter.grad is None:
                continue
            grad = parameter.grad.data
            self.m[index] = beta1 * self.m[index] + (1 - beta1) * grad
            self.v[index] = beta2 * self.v[index] + (1 - beta2) * grad * grad
            m_hat = self.m[index] / (1 - beta1 ** self.t)
            v_hat = self.v[index] / (1 - beta2 ** self.t)
            parameter.data -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
