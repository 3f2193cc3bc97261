"""Reading and writing .tflite flatbuffers (subgraph 0) to and from the IR: see reader.py, writer.py."""
