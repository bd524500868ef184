// Direct access to the addon for tests that check kernels against their scalar reference.
export { native } from '../../lib/native';
export { dtypeCode } from '../../lib/dtype';
