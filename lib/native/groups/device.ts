// Device memory (bindings/device.cpp): buffers on a CUDA device for the tensors there.

/** A buffer of device memory (opaque: only the binding reads it). */
export interface DeviceBuffer {
  readonly __deviceBuffer: unique symbol;
}

export interface DeviceBinding {
  /** length elements (dtype 0 float32, 1 int32) on cuda:index; contents arbitrary. */
  deviceAlloc(index: number, dtype: 0 | 1, length: number): DeviceBuffer;
  /** Back to the caching allocator now (idempotent); otherwise when the buffer is collected. */
  deviceFree(buffer: DeviceBuffer): void;
  /** Host to device, asynchronous on the device's stream (same dtype and length). */
  deviceUpload(buffer: DeviceBuffer, host: Float32Array | Int32Array): void;
  /** Device to host; waits for the device's stream. */
  deviceDownload(buffer: DeviceBuffer, host: Float32Array | Int32Array): void;
  /** Device to device on one device (same dtype and length). */
  deviceCopy(dst: DeviceBuffer, src: DeviceBuffer): void;
  deviceBufferInfo(buffer: DeviceBuffer): { index: number; dtype: 'float32' | 'int32'; length: number; live: boolean };
  deviceSynchronize(index: number): void;
  deviceCachedBytes(index: number): number;
  deviceEmptyCache(index: number): void;
}
