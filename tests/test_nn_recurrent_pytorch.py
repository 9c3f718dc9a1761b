"""Recurrent layers and cells against PyTorch: values and gradients that PyTorch 2.x computed
for fixed weights (written in below), and state_dict keys and shapes, key for key.

The weights are ``0.4 * sin(1.3 k + 0.7 j)`` for the k-th parameter (in ``named_parameters()``
order, which is PyTorch's) at flat position j; inputs and initial states are
``cos(phase + 0.9 j)``. The loss is ``output.sum() + (h_n ** 2).sum() + (c_n ** 3).sum()`` for a
layer, ``(h ** 2).sum() + (c ** 3).sum()`` for a cell.
"""

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn


def fixed_weights(module):
    for k, (_, p) in enumerate(module.named_parameters()):
        p.data[...] = 0.4 * np.sin(1.3 * k + 0.7 * np.arange(p.numel())).reshape(p.shape)


def inputs(shape, phase=0.0):
    values = np.cos(phase + 0.9 * np.arange(int(np.prod(shape)))).reshape(shape)
    return mg.tensor(values, requires_grad=True)


# fmt: off
LAYERS = [
    ("LSTM", dict(input_size=2, hidden_size=3, num_layers=2, bidirectional=True), (3, 2, 2)),
    ("GRU", dict(input_size=2, hidden_size=3, num_layers=2, batch_first=True), (2, 3, 2)),
    ("RNN", dict(input_size=2, hidden_size=3, nonlinearity="relu", bidirectional=True), (3, 2, 2)),
    ("LSTM", dict(input_size=2, hidden_size=3, proj_size=2), (3, 2)),
]
LAYER_VALUES = [
    # LSTM({'input_size': 2, 'hidden_size': 3, 'num_layers': 2, 'bidirectional': True}), input (3, 2, 2)
    {
        "output": [[[ 0.0435715916,  0.5111786163, -0.0182590657, -0.258434622 , -0.2156320111, -0.2101381209],
              [-0.2849381567, -0.2810546984,  0.0918314303, -0.1822156132, -0.3321120195, -0.2642477828]],
             [[-0.1822655969,  0.2099144839,  0.0456387153, -0.2098106498, -0.0397109725, -0.1295935376],
              [-0.3287720724, -0.2449977807,  0.1799349203, -0.1093066057, -0.315191722 , -0.2965149962]],
             [[-0.2742721081, -0.0585592717,  0.1733372945, -0.1368249311,  0.2700613622,  0.0535759455],
              [-0.3339259336, -0.1886372235,  0.1166966114,  0.0105037696, -0.2898764714, -0.3766851648]]],
        "h_n": [[[ 0.2426244025,  0.1258119812, -0.0210558834],
              [ 0.1332481932,  0.0485773278,  0.1525155597]],
             [[ 0.215672734 ,  0.3046543362,  0.0177656181],
              [-0.1029510008,  0.1057373892,  0.1187389109]],
             [[-0.2742721081, -0.0585592717,  0.1733372945],
              [-0.3339259336, -0.1886372235,  0.1166966114]],
             [[-0.258434622 , -0.2156320111, -0.2101381209],
              [-0.1822156132, -0.3321120195, -0.2642477828]]],
        "c_n": [[[ 0.5391558493,  0.3125430065, -0.0595268811],
              [ 0.3082237339,  0.2189895331,  0.4664680939]],
             [[ 0.4151330466,  0.522307525 ,  0.0333539858],
              [-0.1484398302,  0.2409809123,  0.3689837219]],
             [[-0.4585207586, -0.0963375199,  0.2809609395],
              [-0.5636963042, -0.2997515531,  0.2035665354]],
             [[-0.54735514  , -0.386838415 , -0.3323074201],
              [-0.3562023683, -0.7052646838, -0.4118428334]]],
        "x.grad": [[[ 0.1102410757,  0.0651850103],
              [ 0.0607920651,  0.0247569283]],
             [[ 0.1781592321,  0.0985783427],
              [-0.0132572815, -0.0301435141]],
             [[ 0.0810814602,  0.0741198132],
              [ 0.0776013376,  0.0227301263]]],
        "h_0.grad": [[[ 0.0585129456,  0.0362894133, -0.0030015971],
              [-0.0421195316,  0.0020895044,  0.0453158139]],
             [[ 0.0861656837,  0.1408411076,  0.1292767578],
              [-0.0114227941, -0.0182336041, -0.0164688652]],
             [[ 0.0994556774,  0.2015632636,  0.2088724974],
              [-0.0616847606, -0.1227818522, -0.1261327202]],
             [[ 0.3125011648,  0.4421868331,  0.3639051244],
              [-0.0448236129, -0.1059246071, -0.1172076034]]],
        "weight_hh_l0.grad": [[ 1.287034618e-01,  2.842800670e-02, -5.635174300e-02],
             [ 5.344083320e-02,  1.060017750e-02, -1.872421800e-02],
             [-2.853346480e-02, -2.518657450e-02,  3.476231590e-02],
             [ 9.942484360e-02,  1.549366880e-02, -4.350315310e-02],
             [-3.006545000e-03,  1.761095000e-04,  8.854024400e-03],
             [-6.393031400e-02, -2.364418450e-02,  6.005234300e-02],
             [ 2.343350122e-01,  5.012187170e-02, -5.995919870e-02],
             [ 1.443789046e-01,  3.238180020e-02, -6.881779720e-02],
             [-1.532269600e-03, -7.148277600e-03,  5.401358180e-02],
             [ 4.376301850e-02,  1.125482300e-03, -2.462988380e-02],
             [ 2.471911520e-02,  6.688598700e-03, -6.854085800e-03],
             [ 1.815609800e-03, -3.535158900e-03,  2.646925900e-03]],
    },
    # GRU({'input_size': 2, 'hidden_size': 3, 'num_layers': 2, 'batch_first': True}), input (2, 3, 2)
    {
        "output": [[[ 0.257830719 ,  0.7318729619,  0.2739560046],
              [ 0.0726448927,  0.6783720323,  0.1547158627],
              [ 0.0115030961,  0.6627678517,  0.0607168943]],
             [[-0.4490431866, -0.1633922944, -0.023100493 ],
              [-0.3153342852,  0.2097805495,  0.2205095423],
              [-0.1499063477,  0.4085206706,  0.1422319092]]],
        "h_n": [[[ 0.4716277804,  0.4799592984,  0.3973058521],
              [ 0.2850265392,  0.4407106393,  0.5146420648]],
             [[ 0.0115030961,  0.6627678517,  0.0607168943],
              [-0.1499063477,  0.4085206706,  0.1422319092]]],
        "x.grad": [[[-0.0502650599, -0.0709933285],
              [-0.0334255983, -0.1000265834],
              [-0.0737505512, -0.1943992942]],
             [[-0.0082801649, -0.0672186394],
              [-0.0009609427, -0.0778446074],
              [-0.0645495967, -0.1630630611]]],
        "h_0.grad": [[[ 0.062456654 ,  0.0878282582,  0.1491151816],
              [-0.010156995 ,  0.1624752525,  0.4457277723]],
             [[ 0.8934919698,  1.3911468295,  0.7488371213],
              [ 0.4807322124,  0.7589874076,  1.0819966262]]],
        "weight_hh_l0.grad": [[ 0.1064493517,  0.0451336352, -0.0034400357],
             [-0.0037462602, -0.0112190263, -0.0025963378],
             [-0.0363541951, -0.0144926853,  0.0129453936],
             [ 0.1352401015,  0.0708108577, -0.0314722449],
             [-0.042783138 ,  0.0172061837, -0.0317041245],
             [-0.2213569327, -0.0972595988,  0.0358049921],
             [ 0.279163774 ,  0.1020334234,  0.0079642336],
             [ 0.0758548458, -0.0151770343,  0.008576553 ],
             [ 0.0994763139,  0.0162268964,  0.0138246959]],
    },
    # RNN({'input_size': 2, 'hidden_size': 3, 'nonlinearity': 'relu', 'bidirectional': True}), input (3, 2, 2)
    {
        "output": [[[0.3774347717, 0.2683898135, 0.          , 0.2490543102, 0.8389755305, 0.          ],
              [0.          , 0.          , 0.          , 1.0250174322, 0.          , 0.          ]],
             [[0.1198653443, 0.          , 0.          , 1.0836227638, 0.2365539514, 0.          ],
              [0.1887447324, 0.1348434263, 0.          , 0.1861846665, 0.704498745 , 0.1070909626]],
             [[0.          , 0.          , 0.          , 0.7655959488, 0.4481259707, 0.          ],
              [0.          , 0.          , 0.          , 0.3828846767, 0.          , 0.          ]]],
        "h_n": [[[0.          , 0.          , 0.          ],
              [0.          , 0.          , 0.          ]],
             [[0.2490543102, 0.8389755305, 0.          ],
              [1.0250174322, 0.          , 0.          ]]],
        "x.grad": [[[ 0.3418631924,  1.514803585 ],
              [-1.0778270004, -0.4561347451]],
             [[-0.4764343638,  0.5185222081],
              [ 1.0713786703,  1.6721094901]],
             [[-0.3682690184,  0.3294086724],
              [-0.2960737862, -0.1252979754]]],
        "h_0.grad": [[[ 0.394579875 ,  0.0575447194, -0.3065546168],
              [ 0.          ,  0.          ,  0.          ]],
             [[ 0.6368326066,  0.6038841697,  0.2869195719],
              [ 0.0720935579,  0.2659833732,  0.334777052 ]]],
        "weight_hh_l0.grad": [[ 1.5932580779,  0.5038662491, -0.9230743069],
             [ 1.196775988 ,  0.2317874172, -0.90861325  ],
             [ 0.          ,  0.          ,  0.          ]],
    },
    # LSTM({'input_size': 2, 'hidden_size': 3, 'proj_size': 2}), input (3, 2)
    {
        "output": [[-0.1110417493,  0.0056825796],
             [-0.0688564718,  0.0553676125],
             [-0.0539471919,  0.0882196784]],
        "h_n": [[-0.0539471919,  0.0882196784]],
        "c_n": [[0.3117504714, 0.2537596857, 0.1458082896]],
        "x.grad": [[-0.0495626447, -0.0638764537],
             [-0.0061460478, -0.0289339126],
             [ 0.0399264647, -0.0026489453]],
        "h_0.grad": [[-0.0520996337, -0.0160290585]],
        "weight_hh_l0.grad": [[ 0.0068141842,  0.0030186671],
             [-0.0138503639,  0.0009337447],
             [-0.0108688493,  0.000711281 ],
             [ 0.000602206 ,  0.0030325638],
             [-0.0152312608, -0.0027514327],
             [-0.0201315475, -0.0055632341],
             [ 0.0032681644,  0.011984823 ],
             [ 0.1053462431,  0.0241271529],
             [ 0.0308585451,  0.0101982641],
             [-0.0012903671,  0.0001328723],
             [-0.0137866852, -0.001368852 ],
             [-0.0420577688, -0.0075241221]],
    },
]

CELLS = [
    ("LSTMCell", dict(input_size=2, hidden_size=3), (2, 2)),
    ("GRUCell", dict(input_size=2, hidden_size=3), (2,)),
    ("RNNCell", dict(input_size=2, hidden_size=3, nonlinearity="tanh"), (2, 2)),
]
CELL_VALUES = [
    # LSTMCell({'input_size': 2, 'hidden_size': 3}), input (2, 2)
    {
        "h": [[ 0.3534554093,  0.0289689742, -0.1623223063],
             [-0.0969488302,  0.0724784825,  0.2875330565]],
        "c": [[ 0.677657129 ,  0.0518403671, -0.7070930693],
             [-0.3423178243,  0.2160388524,  0.7447820446]],
        "x.grad": [[-0.1899609386, -0.1152301517],
             [ 0.0713848688,  0.0204358245]],
        "h_0.grad": [[ 0.3892406724,  0.3200140199,  0.1002797735],
             [-0.2967698511, -0.0348833926,  0.2434092704]],
        "weight_hh.grad": [[ 3.118301771e-01,  6.412958190e-02, -2.321030024e-01],
             [-3.118925960e-02, -1.907870390e-02,  7.470234600e-03],
             [-4.803586051e-01, -2.251158546e-01,  2.004900866e-01],
             [ 2.247023543e-01,  6.561596970e-02, -1.431272726e-01],
             [ 2.420392900e-03,  2.466655800e-03,  6.462028000e-04],
             [-6.056890559e-01, -2.387966558e-01,  3.088122927e-01],
             [ 1.325746846e-01, -7.910472200e-03, -1.424091413e-01],
             [-2.755424400e-03, -8.390392300e-03, -7.675678500e-03],
             [-1.005014995e-01, -1.505796840e-01, -8.670216570e-02],
             [ 7.466542120e-02,  9.399522100e-03, -6.297974800e-02],
             [-6.265949900e-03, -3.856013000e-03,  1.472077700e-03],
             [-5.605582330e-02, -4.523780680e-02, -1.847200000e-04]],
    },
    # GRUCell({'input_size': 2, 'hidden_size': 3}), input (2,)
    {
        "h": [ 0.8042943725,  0.1871586317, -0.5096820317],
        "x.grad": [0.2969265138, 0.1232277966],
        "h_0.grad": [ 0.618279156 ,  0.2516068585, -0.5931349201],
        "weight_hh.grad": [[ 0.06529385  ,  0.0126458861, -0.0495722322],
             [ 0.0150319086,  0.0029113278, -0.0114124877],
             [ 0.028483615 ,  0.0055166076, -0.0216252584],
             [ 0.0317796347,  0.0061549693, -0.0241276542],
             [-0.0024279813, -0.000470243 ,  0.0018433659],
             [ 0.0835088909,  0.016173712 , -0.0634014097],
             [ 0.2345996381,  0.0454364432, -0.1781121461],
             [ 0.1018711924,  0.0197300588, -0.07734239  ],
             [-0.0898685874, -0.0174054359,  0.0682298025]],
    },
    # RNNCell({'input_size': 2, 'hidden_size': 3, 'nonlinearity': 'tanh'}), input (2, 2)
    {
        "h": [[ 0.3604776424,  0.2621259188, -0.7600485434],
             [-0.6896150929, -0.5948482137, -0.1710483842]],
        "x.grad": [[ 0.1064287897,  0.4202956648],
             [-0.3475157174, -0.4052212147]],
        "h_0.grad": [[ 0.3730360251,  0.089683953 , -0.2358478835],
             [-0.1064836388, -0.0004314335,  0.1058236818]],
        "weight_hh.grad": [[ 1.2725601127,  0.5223920638, -0.6231118843],
             [ 1.1958807255,  0.5248669869, -0.5433556234],
             [-0.2318661126,  0.0817770815,  0.3335330107]],
    },
]

# (class, positional arguments, keyword arguments, PyTorch's state_dict keys and shapes)
STATE_DICTS = [
    ("LSTM", (3, 4, 2), {'bidirectional': True, 'proj_size': 2}, [('weight_ih_l0', (16, 3)), ('weight_hh_l0', (16, 2)), ('bias_ih_l0', (16,)), ('bias_hh_l0', (16,)), ('weight_hr_l0', (2, 4)), ('weight_ih_l0_reverse', (16, 3)), ('weight_hh_l0_reverse', (16, 2)), ('bias_ih_l0_reverse', (16,)), ('bias_hh_l0_reverse', (16,)), ('weight_hr_l0_reverse', (2, 4)), ('weight_ih_l1', (16, 4)), ('weight_hh_l1', (16, 2)), ('bias_ih_l1', (16,)), ('bias_hh_l1', (16,)), ('weight_hr_l1', (2, 4)), ('weight_ih_l1_reverse', (16, 4)), ('weight_hh_l1_reverse', (16, 2)), ('bias_ih_l1_reverse', (16,)), ('bias_hh_l1_reverse', (16,)), ('weight_hr_l1_reverse', (2, 4))]),
    ("GRU", (3, 4), {'bias': False}, [('weight_ih_l0', (12, 3)), ('weight_hh_l0', (12, 4))]),
    ("RNN", (3, 4, 2), {}, [('weight_ih_l0', (4, 3)), ('weight_hh_l0', (4, 4)), ('bias_ih_l0', (4,)), ('bias_hh_l0', (4,)), ('weight_ih_l1', (4, 4)), ('weight_hh_l1', (4, 4)), ('bias_ih_l1', (4,)), ('bias_hh_l1', (4,))]),
    ("LSTMCell", (3, 4), {}, [('weight_ih', (16, 3)), ('weight_hh', (16, 4)), ('bias_ih', (16,)), ('bias_hh', (16,))]),
    ("GRUCell", (3, 4), {'bias': False}, [('weight_ih', (12, 3)), ('weight_hh', (12, 4))]),
    ("RNNCell", (3, 4), {}, [('weight_ih', (4, 3)), ('weight_hh', (4, 4)), ('bias_ih', (4,)), ('bias_hh', (4,))]),
]

# fmt: on


@pytest.mark.parametrize(
    "config, expected", list(zip(LAYERS, LAYER_VALUES)), ids=lambda c: str(c)[:40]
)
def test_layer_values_and_gradients_are_pytorchs(config, expected):
    kind, kwargs, shape = config
    layer = getattr(nn, kind)(**kwargs)
    fixed_weights(layer)
    x = inputs(shape)
    batched, directions = len(shape) == 3, 2 if kwargs.get("bidirectional") else 1
    count = kwargs.get("num_layers", 1) * directions
    size = kwargs.get("proj_size") or kwargs["hidden_size"]
    batch = (shape[0] if kwargs.get("batch_first") else shape[1],) if batched else ()
    h_0 = inputs((count, *batch, size), 0.5)
    if kind == "LSTM":
        c_0 = inputs((count, *batch, kwargs["hidden_size"]), 1.0)
        output, (h_n, c_n) = layer(x, (h_0, c_0))
        (output.sum() + (h_n**2).sum() + (c_n**3).sum()).backward()
        np.testing.assert_allclose(c_n.data, expected["c_n"], atol=1e-9)
    else:
        output, h_n = layer(x, h_0)
        (output.sum() + (h_n**2).sum()).backward()
    np.testing.assert_allclose(output.data, expected["output"], atol=1e-9)
    np.testing.assert_allclose(h_n.data, expected["h_n"], atol=1e-9)
    np.testing.assert_allclose(x.grad.data, expected["x.grad"], atol=1e-9)
    np.testing.assert_allclose(h_0.grad.data, expected["h_0.grad"], atol=1e-9)
    np.testing.assert_allclose(
        layer.weight_hh_l0.grad.data, expected["weight_hh_l0.grad"], atol=1e-9
    )


@pytest.mark.parametrize(
    "config, expected", list(zip(CELLS, CELL_VALUES)), ids=lambda c: str(c)[:30]
)
def test_cell_values_and_gradients_are_pytorchs(config, expected):
    kind, kwargs, shape = config
    cell = getattr(nn, kind)(**kwargs)
    fixed_weights(cell)
    x, h_0 = inputs(shape), inputs(shape[:-1] + (3,), 0.5)
    if kind == "LSTMCell":
        h, c = cell(x, (h_0, inputs(shape[:-1] + (3,), 1.0)))
        ((h**2).sum() + (c**3).sum()).backward()
        np.testing.assert_allclose(c.data, expected["c"], atol=1e-9)
    else:
        h = cell(x, h_0)
        (h**2).sum().backward()
    np.testing.assert_allclose(h.data, expected["h"], atol=1e-9)
    np.testing.assert_allclose(x.grad.data, expected["x.grad"], atol=1e-9)
    np.testing.assert_allclose(h_0.grad.data, expected["h_0.grad"], atol=1e-9)
    np.testing.assert_allclose(cell.weight_hh.grad.data, expected["weight_hh.grad"], atol=1e-9)


@pytest.mark.parametrize("kind, args, kwargs, keys", STATE_DICTS, ids=lambda v: str(v)[:20])
def test_state_dict_keys_and_shapes_are_pytorchs(kind, args, kwargs, keys):
    module = getattr(nn, kind)(*args, **kwargs)
    assert [(k, tuple(v.shape)) for k, v in module.state_dict().items()] == keys
    assert [(k, p.shape) for k, p in module.named_parameters()] == keys


@pytest.mark.parametrize("kind, args, kwargs, keys", STATE_DICTS, ids=lambda v: str(v)[:20])
def test_a_pytorch_state_dict_loads_and_comes_back_key_for_key(kind, args, kwargs, keys):
    """Arrays of PyTorch's keys and shapes (as ``{k: v.numpy()}`` of a torch state_dict) load
    into the module and come back unchanged, under the same keys."""
    rng = np.random.default_rng(0)
    arrays = {key: rng.standard_normal(shape) for key, shape in keys}
    module = getattr(nn, kind)(*args, **kwargs)
    module.load_state_dict(arrays)
    back = module.state_dict()
    assert list(back) == [key for key, _ in keys]
    for key, value in arrays.items():
        np.testing.assert_array_equal(np.asarray(back[key].data), value, err_msg=key)
        assert getattr(module, key).data.dtype == np.float64
