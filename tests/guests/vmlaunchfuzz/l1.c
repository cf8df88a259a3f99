/*
 * vmlaunchfuzz uses vmx_l2's L1 hypervisor core unchanged (capabilities,
 * VMXON, a valid vmcs12 for a 64-bit L2, EPT12, the VM-entry and VM-exit
 * paths): the file is compiled into this guest as well.
 */
#include "../vmx_l2/l1.c"
