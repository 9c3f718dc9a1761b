"""The schedules of issue 17: PolynomialLR, CosineAnnealingWarmRestarts, CyclicLR, SequentialLR
and ChainedScheduler.

Their rates over 36 steps are PyTorch's (written in below: PyTorch 2.13), and the closed forms of
PyTorch's documentation, written here, give the same; fractional epochs, resuming, composing,
state dicts (through ``mg.save``; a refused one changes nothing) and refused arguments. The
state-dict and argument checks they share with the other schedules are in test_lr_scheduler.py.
"""

import copy
import math
import re

import numpy as np
import pytest

import minigrad as mg
from minigrad.optim import SGD, Adagrad, Adam, NAdam, OptimizerError
from minigrad.optim.lr_scheduler import (
    ChainedScheduler,
    CosineAnnealingLR,
    CosineAnnealingWarmRestarts,
    CyclicLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    MultiStepLR,
    PolynomialLR,
    ReduceLROnPlateau,
    SequentialLR,
    StepLR,
)

# fmt: off
PYTORCH_RATES = {  # the rate (and the momentum, for CyclicLR) at t = 0, 1, ..., 35
    'PolynomialLR(total_iters=20, power=2.5)': (
        [0.1, 0.08796481896190089, 0.07684334714209162, 0.0666112087039411, 0.057243340223994625,
        0.04871392896287468, 0.0409963413001697, 0.034063038986561385, 0.02788548009269341,
        0.02243400042346439, 0.017677669529663695, 0.013584112963311225, 0.010119288512538821,
        0.007247197734297032, 0.0049295030175465, 0.0031250000000000023, 0.0017888543819998323,
        0.0008714212528966699, 0.00031622776601683805, 5.5901699437494914e-05, 0.0, 0.0, 0.0, 0.0,
        0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    ),
    'CosineAnnealingWarmRestarts(T_0=3, T_mult=2, eta_min=0.001)': (
        [0.1, 0.07525000000000001, 0.025750000000000012, 0.1, 0.09336825748732973,
        0.07525000000000001, 0.0505, 0.025750000000000012, 0.007631742512670284, 0.1,
        0.09831332840130888, 0.09336825748732973, 0.0855017856687341, 0.07525000000000001,
        0.06331154273257478, 0.0505, 0.03768845726742523, 0.025750000000000012, 0.0154982143312659,
        0.007631742512670284, 0.0026866715986911243, 0.1, 0.09957652063800362, 0.09831332840130888,
        0.0962320368593087, 0.09336825748732973, 0.08977099034441614, 0.0855017856687341,
        0.08063369073593167, 0.07525000000000001, 0.06944282990207196, 0.06331154273257478,
        0.05696104651489257, 0.0505, 0.04403895348510745, 0.03768845726742523],
    ),
    "CyclicLR(base_lr=0.01, max_lr=0.1, step_size_up=4, step_size_down=6, mode='triangular2')": (
        [0.01, 0.03250000000000002, 0.055, 0.07750000000000001, 0.09999999999999999, 0.085,
        0.06999999999999999, 0.055000000000000014, 0.039999999999999994, 0.025000000000000015, 0.01,
        0.021250000000000012, 0.03250000000000002, 0.04374999999999998, 0.055, 0.04750000000000001,
        0.039999999999999994, 0.03249999999999999, 0.025000000000000015, 0.01750000000000001, 0.01,
        0.015625000000000007, 0.021250000000000012, 0.02687499999999999, 0.0325,
        0.028750000000000005, 0.024999999999999998, 0.021249999999999995, 0.01750000000000001,
        0.013750000000000004, 0.01, 0.01281249999999999, 0.015625000000000007, 0.018437499999999996,
        0.021249999999999995, 0.019375000000000003],
        [0.9, 0.875, 0.8500000000000001, 0.8250000000000001, 0.8, 0.8166666666666667,
        0.8333333333333334, 0.85, 0.8666666666666667, 0.8833333333333333, 0.9, 0.8875000000000001,
        0.875, 0.8625, 0.8500000000000001, 0.8583333333333334, 0.8666666666666667, 0.875,
        0.8833333333333333, 0.8916666666666667, 0.9, 0.89375, 0.8875000000000001,
        0.8812500000000001, 0.875, 0.8791666666666667, 0.8833333333333334, 0.8875000000000001,
        0.8916666666666667, 0.8958333333333334, 0.9, 0.8968750000000001, 0.89375, 0.890625,
        0.8875000000000001, 0.8895833333333334],
    ),
    "CyclicLR(base_lr=0.01, max_lr=0.1, step_size_up=5, mode='exp_range', gamma=0.97)": (
        [0.01, 0.02746000000000002, 0.0438724, 0.05928434200000001, 0.07374108231999998,
        0.087286062313, 0.06997398435488798, 0.05363107361818102, 0.03821476093975705,
        0.023684159055782188, 0.01, 0.02287542525558546, 0.03497832499583579, 0.04634346286894101,
        0.05700421197716373, 0.06699260702231102, 0.05422626304931335, 0.04217460636837545,
        0.030806245451549488, 0.0200910290440015, 0.01, 0.019494649227501014, 0.028419619501351967,
        0.03680054637446706, 0.044662039977644084, 0.05202772347289346, 0.04261351341496532,
        0.03372633100938725, 0.02534302738607045, 0.017441368282244168, 0.01, 0.017001583416763506,
        0.023583071828521263, 0.029763369510498405, 0.03556062456691131, 0.04099225728737993],
        [0.9, 0.8806, 0.862364, 0.8452396200000001, 0.8291765752000001, 0.81412659743,
        0.8333622396056801, 0.8515210293131322, 0.8686502656224921, 0.8847953788269087, 0.9,
        0.8856939719382384, 0.8722463055601825, 0.8596183745900656, 0.8477730978031515,
        0.8366748810863212, 0.8508597077229852, 0.8642504373684717, 0.8768819494982784,
        0.8887877455066651, 0.9, 0.8894503897472211, 0.8795337561096089, 0.870221615139481,
        0.8614866222470622, 0.8533025294745629, 0.8637627628722608, 0.8736374099895697,
        0.8829521917932551, 0.8917318130197287, 0.9, 0.8922204628702628, 0.8849076979683097,
        0.8780407005438907, 0.8715993060367653, 0.8655641585695779],
    ),
    'SequentialLR(LinearLR(start_factor=0.1, total_iters=5), CosineAnnealingLR(T_max=25), [6])': (
        [0.010000000000000002, 0.028000000000000004, 0.046000000000000006, 0.064, 0.082, 0.1, 0.1,
        0.0996057350657239, 0.09842915805643156, 0.09648882429441258, 0.09381533400219319,
        0.0904508497187474, 0.0864484313710706, 0.0818711994874345, 0.07679133974894983,
        0.07128896457825364, 0.06545084971874737, 0.05936906572928624, 0.05313952597646568,
        0.04686047402353434, 0.04063093427071378, 0.03454915028125265, 0.02871103542174637,
        0.02320866025105016, 0.018128800512565515, 0.013551568628929436, 0.009549150281252635,
        0.006184665997806822, 0.003511175705587433, 0.001570841943568452, 0.00039426493427611184,
        0.0, 0.0003942649342761062, 0.0015708419435684407, 0.003511175705587427,
        0.0061846659978068265],
    ),
    'ChainedScheduler(CyclicLR(base_lr=0.02, max_lr=0.1, step_size_up=3), ExponentialLR(0.95))': (
        [0.02, 0.04433333333333334, 0.06966666666666665, 0.095, 0.0696666666666667,
        0.044333333333333315, 0.019, 0.04433333333333338, 0.06966666666666663, 0.095,
        0.06966666666666663, 0.04433333333333338, 0.019, 0.044333333333333315, 0.0696666666666667,
        0.095, 0.0696666666666667, 0.044333333333333315, 0.019, 0.04433333333333324,
        0.06966666666666675, 0.095, 0.06966666666666675, 0.04433333333333324, 0.019,
        0.04433333333333338, 0.06966666666666663, 0.095, 0.06966666666666663, 0.04433333333333338,
        0.019, 0.04433333333333338, 0.06966666666666663, 0.095, 0.06966666666666663,
        0.04433333333333338],
        [0.9, 0.8666666666666667, 0.8333333333333334, 0.8, 0.8333333333333334, 0.8666666666666667,
        0.9, 0.8666666666666666, 0.8333333333333335, 0.8, 0.8333333333333335, 0.8666666666666666,
        0.9, 0.8666666666666667, 0.8333333333333334, 0.8, 0.8333333333333334, 0.8666666666666667,
        0.9, 0.8666666666666668, 0.8333333333333333, 0.8, 0.8333333333333333, 0.8666666666666668,
        0.9, 0.8666666666666666, 0.8333333333333335, 0.8, 0.8333333333333335, 0.8666666666666666,
        0.9, 0.8666666666666666, 0.8333333333333335, 0.8, 0.8333333333333335, 0.8666666666666666],
    ),
}
PYTORCH_FRACTIONAL = [  # CosineAnnealingWarmRestarts(T_0=2, T_mult=3, eta_min=0.01),
    # step(epoch + i / 4) for epoch 0..9, i 0..3
    0.1, 0.0965745789630079, 0.08681980515339464, 0.07222075445642905, 0.05500000000000001,
    0.03777924554357097, 0.023180194846605363, 0.013425421036992097, 0.1, 0.09961501876182148,
    0.09846666218300808, 0.0965745789630079, 0.09397114317029975, 0.09070090031310558,
    0.08681980515339464, 0.08239426430539243, 0.0775, 0.07222075445642905, 0.06664685702961344,
    0.06087367864990234, 0.05500000000000001, 0.04912632135009769, 0.04335314297038658,
    0.037779245543570976, 0.032500000000000015, 0.027605735694607572, 0.023180194846605363,
    0.019299099686894423, 0.01602885682970026, 0.013425421036992097, 0.011533337816991932,
    0.010384981238178534, 0.1, 0.09995716997118362, 0.09982876141412855, 0.09961501876182148,
    0.09931634888554937, 0.098933320320397, 0.09846666218300808, 0.09791726278367022,
]
# fmt: on


def sgd(lrs=(0.1,), momentum=0.0):
    """SGD over one parameter per group, group ``i`` with rate ``lrs[i]``."""
    groups = [{"params": [mg.tensor(np.zeros(2), requires_grad=True)], "lr": lr} for lr in lrs]
    return SGD(groups, lr=1.0, momentum=momentum)


def run(scheduler, steps, epochs=None):
    """The rates of every group and the momenta (group 0) at t = 0, 1, ..., steps."""
    opt = scheduler.optimizer
    rates, momenta = [scheduler.get_last_lr()], [momentum(opt.param_groups[0])]
    for _ in range(steps):
        opt.step()
        scheduler.step()
        rates.append(scheduler.get_last_lr())
        momenta.append(momentum(opt.param_groups[0]))
    return np.array(rates), np.array(momenta)


def momentum(group):
    return group["betas"][0] if "betas" in group else group.get("momentum")


BUILD = {
    "PolynomialLR(total_iters=20, power=2.5)": (
        lambda: sgd(), lambda o: PolynomialLR(o, total_iters=20, power=2.5)),
    "CosineAnnealingWarmRestarts(T_0=3, T_mult=2, eta_min=0.001)": (
        lambda: sgd(), lambda o: CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.001)),
    "CyclicLR(base_lr=0.01, max_lr=0.1, step_size_up=4, step_size_down=6, mode='triangular2')": (
        lambda: sgd(momentum=0.9),
        lambda o: CyclicLR(o, 0.01, 0.1, step_size_up=4, step_size_down=6, mode="triangular2")),
    "CyclicLR(base_lr=0.01, max_lr=0.1, step_size_up=5, mode='exp_range', gamma=0.97)": (
        lambda: sgd(momentum=0.9),
        lambda o: CyclicLR(o, 0.01, 0.1, step_size_up=5, mode="exp_range", gamma=0.97)),
    "SequentialLR(LinearLR(start_factor=0.1, total_iters=5), CosineAnnealingLR(T_max=25), [6])": (
        lambda: sgd(),
        lambda o: SequentialLR(o, [LinearLR(o, start_factor=0.1, total_iters=5),
                                   CosineAnnealingLR(o, T_max=25)], milestones=[6])),
    "ChainedScheduler(CyclicLR(base_lr=0.02, max_lr=0.1, step_size_up=3), ExponentialLR(0.95))": (
        lambda: sgd(momentum=0.9),
        lambda o: ChainedScheduler([CyclicLR(o, 0.02, 0.1, step_size_up=3),
                                    ExponentialLR(o, gamma=0.95)])),
}  # fmt: skip


def test_every_schedule_has_pytorchs_rates():
    assert set(BUILD) == set(PYTORCH_RATES)


@pytest.mark.parametrize("name", list(BUILD))
def test_rates_are_pytorchs(name):
    """36 steps: the rates (and CyclicLR's momenta) PyTorch sets, to the last digits."""
    make_optimizer, make_scheduler = BUILD[name]
    rates, momenta = run(make_scheduler(make_optimizer()), 35)
    np.testing.assert_allclose(rates[:, 0], PYTORCH_RATES[name][0], rtol=1e-13, atol=1e-17)
    if len(PYTORCH_RATES[name]) == 2:
        np.testing.assert_allclose(momenta, PYTORCH_RATES[name][1], rtol=1e-13)


# ----- PolynomialLR ---------------------------------------------------------------------------------


@pytest.mark.parametrize("total_iters, power", [(5, 1.0), (12, 2.0), (7, 0.5), (4, 0.0)])
def test_polynomial_matches_its_closed_form(total_iters, power):
    """base * (1 - min(t, n) / n) ** power, for two groups, past n (then 0; power 0: constant)."""
    bases = (0.1, 0.03)
    rates, _ = run(PolynomialLR(sgd(bases), total_iters, power), 3 * total_iters)
    t = np.arange(3 * total_iters + 1)[:, None]
    expected = np.array(bases) * (1 - np.minimum(t, total_iters) / total_iters) ** power
    np.testing.assert_allclose(rates, expected, rtol=1e-12, atol=1e-17)


def test_polynomial_resumed_keeps_the_rate_then_decays():
    """Built with last_epoch=k on a group holding initial_lr: step k + 1 keeps the current rate
    (PyTorch 2.13), later steps apply the ratio of the closed forms."""
    opt = sgd((0.1,))
    PolynomialLR(opt, total_iters=10)
    opt.param_groups[0]["lr"] = 0.06  # as the closed form has it at t = 4
    sched = PolynomialLR(opt, total_iters=10, last_epoch=3)
    assert sched.last_epoch == 4 and sched.get_last_lr() == [0.06]
    rates, _ = run(sched, 3)
    np.testing.assert_allclose(rates[:, 0], [0.06, 0.05, 0.04, 0.03], rtol=1e-13)


# ----- CosineAnnealingWarmRestarts ------------------------------------------------------------------


def sgdr(t, T_0, T_mult, eta_min, base):
    """The closed form: the period T_i that step t falls in, and the position T_cur in it."""
    T_i, start = T_0, 0
    while t >= start + T_i:
        start, T_i = start + T_i, T_i * T_mult
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * (t - start) / T_i)) / 2


@pytest.mark.parametrize("T_0, T_mult, eta_min", [(5, 1, 0.0), (3, 2, 0.001), (2, 3, 0.01)])
def test_warm_restarts_match_the_closed_form(T_0, T_mult, eta_min):
    """Back to base_lr at each restart (t = T_0, T_0 + T_0 T_mult, ...), per group."""
    bases = (0.1, 0.03)
    sched = CosineAnnealingWarmRestarts(sgd(bases), T_0, T_mult, eta_min)
    rates, _ = run(sched, 40)
    expected = [[sgdr(t, T_0, T_mult, eta_min, b) for b in bases] for t in range(41)]
    np.testing.assert_allclose(rates, expected, rtol=1e-12)
    restart = T_0 + T_0 * T_mult
    np.testing.assert_allclose(rates[restart], bases, rtol=1e-15)


def test_warm_restarts_fractional_epochs_are_pytorchs():
    """step(epoch + i / 4), four batches an epoch: PyTorch's rates, and the closed form at the
    fractional position (T_i and T_cur computed from the epoch)."""
    opt = sgd((0.1,))
    sched = CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=3, eta_min=0.01)
    got = []
    for epoch in range(10):
        for i in range(4):
            opt.step()
            sched.step(epoch + i / 4)
            got.append(sched.get_last_lr()[0])
            assert sched.last_epoch == epoch
    np.testing.assert_allclose(got, PYTORCH_FRACTIONAL, rtol=1e-13)
    positions = np.arange(40) / 4
    expected = [sgdr(e, 2, 3, 0.01, 0.1) for e in positions]
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_warm_restarts_step_epoch_jumps_and_continues():
    """step(epoch) jumps anywhere (back too); step() goes on from there."""
    sched = CosineAnnealingWarmRestarts(sgd((1.0,)), T_0=3, T_mult=2)
    sched.step(13.5)  # periods 3, 6, 12: the third began at 9
    assert (sched.T_i, sched.T_cur, sched.last_epoch) == (12, 4.5, 13)
    sched.step()
    assert (sched.T_i, sched.T_cur, sched.last_epoch) == (12, 5.5, 14)
    sched.step(1)
    assert (sched.T_i, sched.T_cur) == (3, 1)
    assert sched.get_last_lr() == [pytest.approx((1 + math.cos(math.pi / 3)) / 2, rel=1e-15)]
    with pytest.raises(OptimizerError, match=re.escape("step: Invalid epoch: -1; epoch must be")):
        sched.step(-1)


# ----- CyclicLR -------------------------------------------------------------------------------------


def triangle(t, up, down):
    """0 at the cycle's start, 1 after ``up`` steps, 0 again after ``down`` more."""
    x = t % (up + down)
    return x / up if x <= up else (up + down - x) / down


def test_cyclic_triangular_matches_the_closed_form_per_group():
    """lr = base + (max - base) * triangle; the momentum goes the other way, from max_momentum;
    SGD's momentum is set even where it was 0, as PyTorch's."""
    opt = sgd((0.5, 0.5))
    sched = CyclicLR(opt, [0.01, 0.02], [0.1, 0.05], step_size_up=3, step_size_down=5)
    assert opt.param_groups[0]["momentum"] == 0.9
    rates, momenta = run(sched, 40)
    h = np.array([triangle(t, 3, 5) for t in range(41)])
    np.testing.assert_allclose(rates, np.stack([0.01 + 0.09 * h, 0.02 + 0.03 * h], 1), rtol=1e-12)
    np.testing.assert_allclose(momenta, 0.9 - 0.1 * h, rtol=1e-12)


def test_cyclic_scale_fn_by_cycle_or_by_step():
    """A scale_fn of the cycle (1, 2, ...) or of the step t multiplies the amplitude."""
    by_cycle = CyclicLR(sgd(), 0.0, 1.0, step_size_up=2, scale_fn=lambda c: 1 / c,
                        cycle_momentum=False)  # fmt: skip
    by_step = CyclicLR(sgd(), 0.0, 1.0, step_size_up=2, scale_fn=lambda t: 0.9**t,
                       scale_mode="iterations", cycle_momentum=False)  # fmt: skip
    h = np.array([triangle(t, 2, 2) for t in range(21)])
    cycle = 1 + np.arange(21) // 4
    np.testing.assert_allclose(run(by_cycle, 20)[0][:, 0], h / cycle, rtol=1e-12, atol=1e-17)
    np.testing.assert_allclose(run(by_step, 20)[0][:, 0], h * 0.9 ** np.arange(21), rtol=1e-12)


def test_cyclic_cycles_beta1_of_adam_like_optimizers():
    """With Adam (or NAdam...) the momentum is beta1; beta2 is kept."""
    for cls in (Adam, NAdam):
        opt = cls([mg.tensor([1.0], requires_grad=True)], betas=(0.5, 0.99))
        sched = CyclicLR(opt, 0.001, 0.01, step_size_up=2, base_momentum=0.8, max_momentum=0.9)
        _, beta1 = run(sched, 4)
        np.testing.assert_allclose(beta1, [0.9, 0.85, 0.8, 0.85, 0.9], rtol=1e-12)
        assert opt.param_groups[0]["betas"][1] == 0.99


def test_cyclic_needs_momentum_or_cycle_momentum_false():
    opt = Adagrad([mg.tensor([1.0], requires_grad=True)])
    with pytest.raises(OptimizerError, match="Adagrad has neither momentum nor betas"):
        CyclicLR(opt, 0.01, 0.1)
    assert "initial_lr" not in opt.param_groups[0]  # refused before touching the groups
    sched = CyclicLR(opt, 0.01, 0.1, step_size_up=2, cycle_momentum=False)
    assert run(sched, 2)[0][:, 0].tolist() == pytest.approx([0.01, 0.055, 0.1])


def test_cyclic_state_dict_restores_a_callable_objects_scale():
    """A scale_fn that is a callable object has its attributes saved and restored (a function
    is saved as None: its code cannot be), as PyTorch's."""

    class Decay:
        def __init__(self, rate):
            self.rate = rate

        def __call__(self, cycle):
            return self.rate ** (cycle - 1)

    first = CyclicLR(sgd(), 0.0, 1.0, step_size_up=2, scale_fn=Decay(0.5), cycle_momentum=False)
    run(first, 5)
    state = first.state_dict()
    assert state["_scale_fn_custom"] == {"rate": 0.5}
    second = CyclicLR(sgd(), 0.0, 1.0, step_size_up=2, scale_fn=Decay(0.9), cycle_momentum=False)
    second.load_state_dict(state)
    assert second._scale_fn_custom.rate == 0.5
    np.testing.assert_array_equal(run(second, 6)[0], run(first, 6)[0])
    plain = CyclicLR(sgd(), 0.0, 1.0, step_size_up=2, scale_fn=lambda c: 1.0, cycle_momentum=False)
    assert plain.state_dict()["_scale_fn_custom"] is None


# ----- SequentialLR ---------------------------------------------------------------------------------


def test_sequential_warm_up_then_decay_matches_the_closed_forms():
    """Each schedule restarts at its milestone: linear warm-up for 5 steps, then cosine from
    base_lr, for two groups."""
    bases = (0.1, 0.03)
    opt = sgd(bases)
    warm = LinearLR(opt, start_factor=0.2, total_iters=5)
    cosine = CosineAnnealingLR(opt, T_max=10, eta_min=0.001)
    rates, _ = run(SequentialLR(opt, [warm, cosine], milestones=[5]), 30)
    expected = [
        [b * (0.2 + 0.8 * t / 5) if t < 5 else 0.001 + (b - 0.001) * (1 + math.cos(math.pi * (t - 5) / 10)) / 2
         for b in bases]
        for t in range(31)
    ]  # fmt: skip
    np.testing.assert_allclose(rates, expected, rtol=1e-12)


def test_sequential_of_three_and_its_last_epoch():
    """Constant half rate, then exponential decay, then steps: each from base_lr at its start."""
    opt = sgd((1.0,))
    parts = [LinearLR(opt, 0.5, 0.5, total_iters=3), ExponentialLR(opt, gamma=0.9),
             StepLR(opt, step_size=4, gamma=0.5)]  # fmt: skip
    sched = SequentialLR(opt, parts, milestones=[3, 10])
    rates, _ = run(sched, 25)
    expected = [0.5 if t < 3 else 0.9 ** (t - 3) if t < 10 else 0.5 ** ((t - 10) // 4)
                for t in range(26)]  # fmt: skip
    np.testing.assert_allclose(rates[:, 0], expected, rtol=1e-12)
    assert sched.last_epoch == 25 and parts[2].last_epoch == 15


BAD_SEQUENTIAL = [
    (lambda o, a, b: SequentialLR(o, [a, b], milestones=[]), "one milestone fewer than schedulers"),
    (lambda o, a, b: SequentialLR(o, [a, b], milestones=[2, 4]), "got 2 schedulers and"),
    (lambda o, a, b: SequentialLR(o, [a, b, a], milestones=[4, 2]), "_milestones must be increasing"),
    (lambda o, a, b: SequentialLR(o, [a, b], milestones=[-1]), "integers >= 0, got [-1]"),
    (lambda o, a, b: SequentialLR(o, [], milestones=[]), "expects a list of at least one scheduler"),
    (lambda o, a, b: SequentialLR(o, [a, ReduceLROnPlateau(o)], milestones=[3]),
     "schedulers[1] is a ReduceLROnPlateau, which needs a metric"),
    (lambda o, a, b: SequentialLR(o, [a, StepLR(sgd(), 2)], milestones=[3]),
     "schedulers[1] (StepLR) sets the rates of another optimizer"),
    (lambda o, a, b: SequentialLR(o, [a, ChainedScheduler([b])], milestones=[3]),
     "schedulers[1] is a ChainedScheduler; SequentialLR restarts"),
    (lambda o, a, b: SequentialLR(o, [a, o], milestones=[3]), "schedulers[1] is a SGD, not a"),
    (lambda o, a, b: SequentialLR([a], [a, b], milestones=[3]), "list is not an Optimizer"),
    (lambda o, a, b: SequentialLR(o, [a, b], milestones=[3], last_epoch=-2), "Invalid last_epoch"),
    (lambda o, a, b: ChainedScheduler([]), "ChainedScheduler expects a list of at least one"),
    (lambda o, a, b: ChainedScheduler([a, StepLR(sgd(), 2)]), "schedulers[1] (StepLR) sets the"),
    (lambda o, a, b: ChainedScheduler([a, ReduceLROnPlateau(o)]), "is a ReduceLROnPlateau"),
    (lambda o, a, b: ChainedScheduler([a], optimizer=sgd()), "schedulers[0] (LinearLR) sets the"),
    (lambda o, a, b: ChainedScheduler([0.1]), "schedulers[0] is a float, not a learning-rate"),
]  # fmt: skip


@pytest.mark.parametrize("build, words", BAD_SEQUENTIAL, ids=[w for _, w in BAD_SEQUENTIAL])
def test_composites_refuse_what_does_not_fit(build, words):
    opt = sgd((0.1,))
    a, b = LinearLR(opt, start_factor=0.5, total_iters=2), ExponentialLR(opt, gamma=0.9)
    with pytest.raises(OptimizerError, match=re.escape(words)):
        build(opt, a, b)


# ----- ChainedScheduler -----------------------------------------------------------------------------


def test_chained_factors_multiply_and_it_takes_no_step_when_built():
    """Warm-up times decay times a step schedule: the product of the three closed forms; building
    the chain changes no rate (each schedule took its step 0 when it was built)."""
    bases = (0.1, 0.03)
    opt = sgd(bases)
    parts = [LinearLR(opt, start_factor=0.25, total_iters=4), ExponentialLR(opt, gamma=0.9),
             MultiStepLR(opt, milestones=[6, 9], gamma=0.5)]  # fmt: skip
    before = [g["lr"] for g in opt.param_groups]
    chain = ChainedScheduler(parts)
    assert chain.get_last_lr() == before and chain.optimizer is opt
    rates, _ = run(chain, 15)
    t = np.arange(16)[:, None]
    factor = (0.25 + 0.75 * np.minimum(t, 4) / 4) * 0.9**t * 0.5 ** ((t >= 6) * 1 + (t >= 9))
    np.testing.assert_allclose(rates, np.array(bases) * factor, rtol=1e-12)


def test_chained_holds_a_sequential():
    """A SequentialLR inside a chain, times a polynomial decay: the product until the milestone
    (step 3), where the StepLR restarts from its closed form, base_lr, dropping the polynomial's
    factor so far, as in PyTorch (its rates written in)."""
    opt = sgd((1.0,))
    seq = SequentialLR(opt, [LinearLR(opt, 0.5, total_iters=2), StepLR(opt, 3, gamma=0.5)], [3])
    rates, _ = run(ChainedScheduler([seq, PolynomialLR(opt, total_iters=30)]), 12)
    np.testing.assert_allclose(rates[:3, 0], [0.5 * 1, 0.75 * 29 / 30, 1.0 * 28 / 30], rtol=1e-13)
    pytorch = [0.5, 0.725, 0.9333333333333332, 0.9642857142857143, 0.9285714285714286,
               0.8928571428571429, 0.4285714285714286, 0.4107142857142857, 0.3928571428571429,
               0.1875, 0.1785714285714286, 0.16964285714285715, 0.08035714285714286]  # fmt: skip
    np.testing.assert_allclose(rates[:, 0], pytorch, rtol=1e-13)


# ----- state dicts of the composites ----------------------------------------------------------------

COMPOSITES = {
    "SequentialLR": lambda o: SequentialLR(
        o, [LinearLR(o, 0.1, total_iters=4), LambdaLR(o, lambda t: 0.9**t),
            CyclicLR(o, 0.01, 0.1, step_size_up=3)], milestones=[5, 9]),
    "ChainedScheduler": lambda o: ChainedScheduler(
        [CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2), ExponentialLR(o, gamma=0.97)]),
}  # fmt: skip


def advance(sched, steps):
    out = []
    for _ in range(steps):
        sched.optimizer.step()
        sched.step()
        out.append(sched.get_last_lr())
    return out


@pytest.mark.parametrize("name", list(COMPOSITES))
def test_composite_state_dict_round_trip_through_save(name, tmp_path):
    """Save the optimizer and the composite mid-schedule; load both into fresh ones: the rest of
    the schedule is the uninterrupted one. The state holds each inner scheduler's state."""
    opt = sgd((0.1, 0.03), momentum=0.9)
    sched = COMPOSITES[name](opt)
    advance(sched, 7)
    state = sched.state_dict()
    assert len(state["_schedulers"]) == len(sched._schedulers)
    assert "optimizer" not in state and set(state) - {"_schedulers"} == set(type(sched).fields)
    mg.save({"optimizer": opt.state_dict(), "scheduler": state}, tmp_path / "ck.npz")
    uninterrupted = advance(sched, 12)

    opt2 = sgd((5.0, 5.0), momentum=0.9)
    sched2 = COMPOSITES[name](opt2)
    checkpoint = mg.load(tmp_path / "ck.npz")
    opt2.load_state_dict(checkpoint["optimizer"])
    sched2.load_state_dict(checkpoint["scheduler"])
    np.testing.assert_allclose(advance(sched2, 12), uninterrupted, rtol=1e-14)


def snapshot(sched):
    inner = [copy.deepcopy({k: v for k, v in vars(s).items() if k != "optimizer"})
             for s in sched._schedulers]  # fmt: skip
    return inner, copy.deepcopy({k: v for k, v in vars(sched).items() if k in type(sched).fields})


@pytest.mark.parametrize(
    "spoil, words",
    [
        (lambda sd: sd.update(_schedulers=sd["_schedulers"][:1]), "_schedulers must be a list of"),
        (lambda sd: sd["_schedulers"][-1].update(last_epoch=-5), "_schedulers[2]: CyclicLR.load"),
        (lambda sd: sd["_schedulers"][1].update(gamma=0.5), "_schedulers[1]: LambdaLR.load_state"),
        (lambda sd: sd.update(_milestones=[5]), "1 milestones for 3 schedulers"),
        (lambda sd: sd.update(_milestones=[9, 5]), "_milestones must be increasing"),
        (lambda sd: sd.update(base_lrs=[0.1, 0.1]), "unknown keys ['base_lrs']"),
    ],
)
def test_a_bad_composite_state_dict_is_refused_and_changes_nothing(spoil, words):
    """Refused whole: when the last inner scheduler refuses its part, those loaded before it are
    put back, and the next steps are those of an untouched twin."""
    opt, twin_opt = sgd((0.1, 0.03), momentum=0.9), sgd((0.1, 0.03), momentum=0.9)
    sched, twin = COMPOSITES["SequentialLR"](opt), COMPOSITES["SequentialLR"](twin_opt)
    advance(sched, 3)
    advance(twin, 3)
    other = COMPOSITES["SequentialLR"](sgd((0.1, 0.03), momentum=0.9))
    advance(other, 8)  # a valid state, of another moment
    state = other.state_dict()
    spoil(state)
    before = snapshot(sched)
    with pytest.raises(OptimizerError, match=re.escape(words)):
        sched.load_state_dict(state)
    assert snapshot(sched) == before
    np.testing.assert_array_equal(advance(sched, 8), advance(twin, 8))
