"""InfoGAN (Chen et al. 2016) on dSprites: the β-VAE paper's comparison row (73.5 ± 0.9%).

The InfoGAN paper has no dSprites experiment; its general recipe and the authors' code
(openai/InfoGAN, the MNIST launcher) fix most of what follows, and the rest is chosen here:

Codes. latent_size M is the width of the representation the metric scores: a 3-way
uniform categorical code (dSprites has exactly three discrete shapes, the case the
categorical code was made for, like MNIST's digit class) and M − 3 continuous codes,
Uniform(−1, 1). The generator also gets NOISE_SIZE = 10 incompressible N(0, I) noise
values, not MNIST's 62: a dSprites image is a deterministic function of five factors, so
with the default M = 10 the codes alone can carry all of them; noise the information term
does not reward is room for G to put factors where Q is not asked to find them.

Networks mirror the conv β-VAE (trainables.models.ConvVAE) so that the comparison is about
training, not capacity. G is its decoder: FC 256, 256, 32·4·4, then four 4×4 stride-2
transposed convolutions to 64×64 Bernoulli logits, with batch norm after every hidden layer
(DCGAN/InfoGAN); D sees the Bernoulli means sigmoid(logits), as InfoGAN's MeanBernoulli
output does, against real 0/1 images. The D trunk is the encoder: four 4×4 stride-2
convolutions of 32 channels and FC 256, with leaky ReLU (slope 0.2, DCGAN) and no batch
norm, so that eval-mode encoding (what the metric scores) is deterministic and independent
of the batch; D's head is one logit, Q's head shares the whole trunk (InfoGAN shares all
conv layers) and adds FC 128 and leaky ReLU, then 3 categorical logits and M − 3
continuous means. Weights start N(0, 0.02), as DCGAN and InfoGAN initialise theirs.

Q's continuous codes have a fixed unit variance (the authors' MNIST setting, fix_std):
their NLL is then ½‖c − ĉ‖² (plus a constant), bounded, so no learned variance can shrink
towards zero and blow the term up. L_I = cross-entropy of the categorical code + ½‖c − ĉ‖²;
what is minimised is LAMBDA_CATEGORICAL = 1 times the first plus LAMBDA_CONTINUOUS = 2
times the second. The paper takes λ = 1 for discrete codes and a smaller λ for continuous
ones, because a learned-variance NLL (a differential entropy) can outgrow the GAN losses;
with the variance fixed at 1 the opposite holds: a perfectly recovered Uniform(−1, 1) code
gains only E[c²]/2 = 1/6 nat against ln 3 for the category. Measured (CPU, seed 0): at
λ = 0.1 and at λ = 1 no continuous code became recoverable (mean correlation of ĉ with c
below 0.05 after 1,500 steps at M = 8, batch 32, and 600 steps at M = 10, batch 64) while
the category did; at λ = 2 both did (M = 10, batch 64, 1,000 steps: category accuracy 1.0,
mean correlation 0.55), and at M = 20 too. At λ = 3 the continuous codes won the race
and the category stayed at chance for the first 400 steps (M = 8, batch 32).

Updates, one D update then one G update per step, each from its own Adam (β1 = 0.5), as in
the authors' trainer: D's optimiser (config.learning_rate, 2e-4) holds the trunk, D's head
and Q's head and minimises D's GAN loss (BCE with logits, simulator images against
generated ones) + the λ-weighted L_I of the generated half; G's (5 × that, 1e-3) holds G
alone and minimises the non-saturating loss −log D(G(z, c)) + the λ-weighted L_I, through
the just-updated trunk and Q. So G and Q both minimise L_I: Q (and the trunk it shares) in
D's update, G in its own. Both updates see the same generated batch (one G forward per
step, like PyTorch's DCGAN example; the authors' code draws new codes for G's update).
Reported terms: loss (G's objective), discriminator (D's GAN loss), generator (G's GAN
loss) and information (L_I unweighted, from G's update). Speed settings: channels last,
fused Adam and bf16 autocast apply; torch.compile is not applied (unmeasured here).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from trainables.config import TrialConfig
from trainables.families import Family
from trainables.seeds import derive_seed
from trainables.speed import Speed
from trainables.step import Interval, StepStats

CATEGORIES = 3  # dSprites' shapes
NOISE_SIZE = 10
LAMBDA_CATEGORICAL = 1.0
LAMBDA_CONTINUOUS = 2.0
ADAM_BETAS = (0.5, 0.999)
GENERATOR_RATE_FACTOR = 5.0  # InfoGAN: G at 1e-3, D and Q at 2e-4
LEAK = 0.2
# Per-step statistics, in this order: what G minimises, D's GAN loss, G's GAN loss, L_I.
TERMS = ("loss", "discriminator", "generator", "information")


class InfoGAN(nn.Module):
    def __init__(self, latent_size: int, channels: int = 32, hidden: int = 256):
        super().__init__()
        if latent_size <= CATEGORIES:
            raise ValueError(f"latent_size must be > {CATEGORIES}; got {latent_size}")
        self.latent_size = latent_size
        self.continuous = latent_size - CATEGORIES

        def fc(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Linear(cin, cout), nn.BatchNorm1d(cout), nn.ReLU()]

        def up(cout: int) -> list[nn.Module]:
            return [
                nn.ConvTranspose2d(channels, cout, 4, stride=2, padding=1),
                nn.BatchNorm2d(cout),
                nn.ReLU(),
            ]

        def down(cin: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, channels, 4, stride=2, padding=1), nn.LeakyReLU(LEAK)]

        self.generator = nn.Sequential(
            *fc(NOISE_SIZE + CATEGORIES + self.continuous, hidden),
            *fc(hidden, hidden),
            *fc(hidden, channels * 4 * 4),
            nn.Unflatten(1, (channels, 4, 4)),
            *up(channels),  # 8×8
            *up(channels),  # 16×16
            *up(channels),  # 32×32
            nn.ConvTranspose2d(channels, 1, 4, stride=2, padding=1),  # 64×64 logits
        )
        self.trunk = nn.Sequential(
            *down(1),  # 32×32
            *down(channels),  # 16×16
            *down(channels),  # 8×8
            *down(channels),  # 4×4
            nn.Flatten(),
            nn.Linear(channels * 4 * 4, hidden),
            nn.LeakyReLU(LEAK),
        )
        self.d_head = nn.Linear(hidden, 1)
        self.q_head = nn.Sequential(
            nn.Linear(hidden, 128), nn.LeakyReLU(LEAK), nn.Linear(128, latent_size)
        )
        for module in self.modules():
            if isinstance(module, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
                nn.init.normal_(module.weight, 0.0, 0.02)
                nn.init.zeros_(module.bias)

    def generate(self, z: torch.Tensor, c_cat: torch.Tensor, c_cont: torch.Tensor) -> torch.Tensor:
        """Images (n, 1, 64, 64), Bernoulli means in (0, 1), from noise (n, NOISE_SIZE),
        categorical codes (n,) in 0..2 and continuous codes (n, M − 3)."""
        one_hot = F.one_hot(c_cat, CATEGORIES).to(z.dtype)
        return torch.sigmoid(self.generator(torch.cat([z, one_hot, c_cont], dim=1)))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        """(n, 1, 64, 64) images -> Q's codes (n, M): the categorical code's 3 probabilities,
        then the continuous codes' means. There is no posterior variance: None."""
        q = self.q_head(self.trunk(x))
        return torch.cat([q[:, :CATEGORIES].softmax(dim=1), q[:, CATEGORIES:]], dim=1), None


def build(config: TrialConfig, device: str | torch.device = "cpu") -> InfoGAN:
    """The untrained model of `config`, seeded like trainables.models.build_model."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derive_seed(config.seed, "init"))
        model = InfoGAN(config.latent_size)
    return model.to(device)


class Optimizers:
    """D's and G's Adam as the one optimiser the loop checkpoints. D's holds the trunk and
    the D and Q heads (at config.learning_rate), G's the generator (5 × that)."""

    def __init__(self, discriminator: torch.optim.Adam, generator: torch.optim.Adam):
        self.discriminator = discriminator
        self.generator = generator

    def state_dict(self) -> dict:
        return {
            "discriminator": self.discriminator.state_dict(),
            "generator": self.generator.state_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.discriminator.load_state_dict(state["discriminator"])
        self.generator.load_state_dict(state["generator"])


def optimizer(config: TrialConfig, model: InfoGAN, speed: Speed) -> Optimizers:
    fused = True if speed.fused_optimizer else None  # None: PyTorch's foreach when not fused
    rate = config.learning_rate
    d_params = [*model.trunk.parameters(), *model.d_head.parameters(), *model.q_head.parameters()]
    return Optimizers(
        torch.optim.Adam(d_params, lr=rate, betas=ADAM_BETAS, fused=fused),
        torch.optim.Adam(
            model.generator.parameters(),
            lr=GENERATOR_RATE_FACTOR * rate,
            betas=ADAM_BETAS,
            fused=fused,
        ),
    )


class Batches:
    """Real images and the generated half's noise and codes, all from one generator, so a
    checkpoint of its state restores the exact continuation (as trainables.data.Batches)."""

    def __init__(self, sim, batch_size: int, latent_size: int, seed: int):
        self.sim = sim
        self.batch_size = batch_size
        self.continuous = latent_size - CATEGORIES
        self.generator = sim.generator(derive_seed(seed, "batches"))

    def next(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """images (n, 1, 64, 64), noise (n, NOISE_SIZE), c_cat (n,), c_cont (n, M − 3)."""
        n, g = self.batch_size, self.generator
        images = self.sim.render_index(self.sim.sample_index(n, g))
        z = torch.randn((n, NOISE_SIZE), generator=g, device=g.device)
        c_cat = torch.randint(CATEGORIES, (n,), generator=g, device=g.device)
        c_cont = torch.rand((n, self.continuous), generator=g, device=g.device) * 2 - 1
        return images, z, c_cat, c_cont

    def state(self) -> torch.Tensor:
        return self.generator.get_state()

    def restore(self, state: torch.Tensor) -> None:
        self.generator.set_state(state.cpu())


def batches(sim, config: TrialConfig) -> Batches:
    return Batches(sim, config.batch_size, config.latent_size, config.seed)


def information(
    q: torch.Tensor, c_cat: torch.Tensor, c_cont: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """L_I of Q's outputs q (n, M) for the codes drawn, and its λ-weighted form."""
    categorical = F.cross_entropy(q[:, :CATEGORIES].float(), c_cat)
    continuous = 0.5 * (q[:, CATEGORIES:].float() - c_cont).square().sum(dim=1).mean()
    weighted = LAMBDA_CATEGORICAL * categorical + LAMBDA_CONTINUOUS * continuous
    return categorical + continuous, weighted


class Stepper:
    """One D update and one G update per step, without host synchronisation: statistics
    accumulate on the device and the first non-finite step is remembered there."""

    def __init__(
        self,
        config: TrialConfig,
        model: InfoGAN,
        optimizer: Optimizers,
        batches: Batches,
        speed: Speed,
        step: int,
    ):
        self.model = model
        self.optimizer = optimizer
        self.batches = batches
        self.speed = speed
        self.device = next(model.parameters()).device
        self.g_params = list(model.generator.parameters())
        self.stats = StepStats(TERMS, len(TERMS), self.device, step)

    def _autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.speed.bf16)

    def step(self) -> None:
        images, z, c_cat, c_cont = self.batches.next()
        if self.speed.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        n, model, opt = images.shape[0], self.model, self.optimizer
        self.stats.step_t += 1
        with self._autocast():
            fake = model.generate(z, c_cat, c_cont)
            # D and Q: one trunk pass over real and generated images (no batch norm in the
            # trunk, so this is the same as two passes).
            h = model.trunk(torch.cat([images, fake.detach()]))
            d = model.d_head(h).float().squeeze(1)
            q = model.q_head(h[n:])
        real, generated = d[:n], d[n:]
        d_loss = F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
        d_loss = d_loss + F.binary_cross_entropy_with_logits(generated, torch.zeros_like(generated))
        _, d_info = information(q, c_cat, c_cont)
        opt.discriminator.zero_grad(set_to_none=True)
        (d_loss + d_info).backward()
        opt.discriminator.step()

        with self._autocast():
            h = model.trunk(fake)
            d_fake = model.d_head(h).float().squeeze(1)
            q = model.q_head(h)
        g_adv = F.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake))
        info, g_info = information(q, c_cat, c_cont)
        g_loss = g_adv + g_info
        opt.generator.zero_grad(set_to_none=True)
        # Gradients for G only: D's and Q's weights are not G's to move.
        g_loss.backward(inputs=self.g_params)
        opt.generator.step()

        self.stats.record(torch.stack([g_loss, d_loss, g_adv, info]).detach())

    def drain(self) -> Interval:
        return self.stats.drain()


FAMILY = Family(build=build, optimizer=optimizer, batches=batches, stepper=Stepper)
