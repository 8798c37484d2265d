"""Tiny screening models built in the test suite, loaded through the production code.

* an SFW classifier (a ViT with labels normal/nsfw) trained for a few seconds to call red images "nsfw";
* a YuNet-shaped face detector (the ONNX interface ``cv2.FaceDetectorYN`` reads: cls/obj/bbox/kps outputs at
  strides 8, 16, 32) whose "faces" are strongly red regions, so tests know where faces are; its five landmarks
  sit where SFace's alignment expects eyes, nose and mouth, so ``alignCrop`` gives a centred crop;
* an SFace-shaped face recognizer (input 1x3x112x112, output 1x128, what ``cv2.FaceRecognizerSF`` reads)
  whose embedding is the hue of the aligned crop: orange, magenta and red faces are three different people.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.tiny_florence import colour_image, train


def build_tiny_nsfw(folder: Path, steps: int = 80) -> Path:
    import torch
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    folder.mkdir(parents=True, exist_ok=True)
    config = ViTConfig(image_size=32, patch_size=8, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                       intermediate_size=32, id2label={0: "normal", 1: "nsfw"}, label2id={"normal": 0, "nsfw": 1})
    processor = ViTImageProcessor(size={"height": 32, "width": 32})
    torch.manual_seed(0)
    model = ViTForImageClassification(config)
    images = [colour_image(c, seed=i) for i, c in enumerate(["red", "blue", "green"] * 2)]
    labels = torch.tensor([1, 0, 0] * 2)
    train(model, processor(images=images, return_tensors="pt"), labels, steps=steps, lr=5e-3)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


# SFace's alignment template (112x112) as offsets from the face centre, in face sizes
LANDMARKS = (np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655],
                       [70.7299, 92.2041]]) - 56.0) / 112.0

FACE_COLOURS = {"red": (210, 40, 40), "orange": (230, 130, 10), "magenta": (230, 10, 130)}


def build_tiny_yunet(path: Path) -> Path:
    """An ONNX graph with YuNet's inputs and outputs; score = sigmoid(0.1 * (R - (G + B) / 2) - 8)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits, outputs = [], [], []
    for s in (8, 16, 32):
        nodes.append(helper.make_node("AveragePool", ["input"], [f"pool{s}"], kernel_shape=[s, s], strides=[s, s]))
        # only the coarsest stride fires, with 96 px boxes: one detection per red square after NMS
        heads = {"cls": (1, np.array([[-0.05, -0.05, 0.1]]), np.array([-8.0 if s == 32 else -40.0])),
                 "obj": (1, np.array([[-0.05, -0.05, 0.1]]), np.array([-8.0])),
                 "bbox": (4, np.zeros((4, 3)), np.array([0.5, 0.5, np.log(96 / s), np.log(96 / s)])),
                 "kps": (10, np.zeros((10, 3)), 0.5 + LANDMARKS.ravel() * 96 / s)}
        for name, (c, w, b) in heads.items():
            inits.append(numpy_helper.from_array(w.reshape(c, 3, 1, 1).astype(np.float32), f"w_{name}{s}"))
            inits.append(numpy_helper.from_array(b.astype(np.float32), f"b_{name}{s}"))
            out = f"{name}_{s}"
            raw = f"{name}{s}_conv"
            nodes.append(helper.make_node("Conv", [f"pool{s}", f"w_{name}{s}", f"b_{name}{s}"], [raw]))
            if name in ("cls", "obj"):
                nodes.append(helper.make_node("Sigmoid", [raw], [raw + "_s"]))
                raw += "_s"
            nodes.append(helper.make_node("Transpose", [raw], [raw + "_t"], perm=[0, 2, 3, 1]))
            inits.append(numpy_helper.from_array(np.array([1, -1, c], dtype=np.int64), f"shape_{name}{s}"))
            nodes.append(helper.make_node("Reshape", [raw + "_t", f"shape_{name}{s}"], [out]))
            outputs.append(helper.make_tensor_value_info(out, TensorProto.FLOAT, [1, f"n{s}", c]))
    order = [f"{k}_{s}" for k in ("cls", "obj", "bbox", "kps") for s in (8, 16, 32)]
    outputs.sort(key=lambda o: order.index(o.name))
    graph = helper.make_graph(nodes, "tiny-yunet",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, "h", "w"])],
                              outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def build_tiny_sface(path: Path) -> Path:
    """An ONNX graph with SFace's input and output: mean colour of the crop -> (g - b, b - g, |g - b| small)
    -> 128 dimensions through an orthonormal projection (cosines kept). Orange faces (g > b), magenta faces
    (b > g) and red faces (g = b) get embeddings at cosine ~0 to each other and ~1 among themselves."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(128, 4)))
    consts = {"w_gb": np.array([[0.0], [1.0], [-1.0]]), "ten": np.array([10.0]), "twenty": np.array([20.0]),
              "zero": np.array([0.0]), "bias": np.array([0.5]), "proj": q.T}
    inits = [numpy_helper.from_array(v.astype(np.float32), k) for k, v in consts.items()]
    nodes = [helper.make_node("GlobalAveragePool", ["data"], ["gap"]),
             helper.make_node("Flatten", ["gap"], ["rgb"], axis=1),  # blobFromImage(swapRB) gives R, G, B
             helper.make_node("MatMul", ["rgb", "w_gb"], ["d"]),
             helper.make_node("Sub", ["d", "ten"], ["d1"]), helper.make_node("Relu", ["d1"], ["f1"]),
             helper.make_node("Neg", ["d"], ["nd"]), helper.make_node("Sub", ["nd", "ten"], ["d2"]),
             helper.make_node("Relu", ["d2"], ["f2"]),
             helper.make_node("Abs", ["d"], ["ad"]), helper.make_node("Sub", ["twenty", "ad"], ["d3"]),
             helper.make_node("Relu", ["d3"], ["f3"]),
             helper.make_node("Mul", ["d", "zero"], ["z"]), helper.make_node("Add", ["z", "bias"], ["f4"]),
             helper.make_node("Concat", ["f1", "f2", "f3", "f4"], ["e"], axis=1),
             helper.make_node("MatMul", ["e", "proj"], ["fc1"])]
    graph = helper.make_graph(nodes, "tiny-sface",
                              [helper.make_tensor_value_info("data", TensorProto.FLOAT, [1, 3, 112, 112])],
                              [helper.make_tensor_value_info("fc1", TensorProto.FLOAT, [1, 128])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def face_photo(faces: int = 1, size=(320, 256), seed: int = 0, colours: tuple[str, ...] = ()):
    """A grey-green scene with ``faces`` strongly red squares (what the tiny detector calls a face);
    ``colours`` (names of FACE_COLOURS) make them different people to the tiny recognizer."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    arr = np.clip(rng.normal(110, 15, (size[1], size[0], 3)), 0, 255)
    for i in range(faces):  # 48 px, one 32 px detector cell wholly inside: one detection per face
        x = 24 + i * 128
        arr[56:104, x:x + 48] = FACE_COLOURS[colours[i] if i < len(colours) else "red"]
    return Image.fromarray(arr.astype(np.uint8), "RGB")
