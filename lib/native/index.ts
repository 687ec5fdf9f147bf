export * from './types';
export * from './operations';
export { bestEffort, bestEffortTogether } from './best-effort';
export * from './container';
export { nftExpr, nftValue, nftPrefixElement, type NftProtocol, type NftCtState } from './nft-expr';
export { validateNftName } from './nft-validate';
export { NetlinkError, type NativeErrorInfo } from './netlink-error';
export { loadBinding } from './loader';
export { failOperation, faultPending, clearFault } from './faults';
export {
  MAX_IFNAME_BYTES,
  validateIfname,
  validateNetnsName,
  validateSysctlKey,
  validateIp,
  validateMac,
  parseCidr,
  type ParsedCidr,
} from './validate';
