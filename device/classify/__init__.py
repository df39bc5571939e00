"""What moved: crops of an event's boxes through an object detector, mapped to a few labels.

`labels` (the mapping and the vote, pure), `crops` (pictures cut from the main stream), `ssd` (the
detector: a TensorFlow Lite SSD and its anchor decoding), `model_file` (where the model lives and
how a device without it says so), `classifier` (the three together, one frame at a time).
"""
