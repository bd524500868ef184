/**
 * Files: safetensors reading and writing, and training checkpoints built on them.
 */
export { save, load, loadWithMetadata, saveAsync, loadAsync, loadWithMetadataAsync, serialize, deserialize, type SaveOptions, type LoadOptions } from './safetensors';
export * as checkpoint from './checkpoint';
