/* Test-only stand-in for Windows 10's bcryptprimitives.dll, which Wine 8 lacks. Rust's std
 * (>= 1.78) imports ProcessPrng from it for random numbers (HashMap seeds). Built by
 * scripts/build-win32.sh into the Wine test prefix's system32; it never ships with the addon:
 * real Windows 10 and later have the DLL. RtlGenRandom (advapi32's SystemFunction036) gives
 * the bytes. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
  while (length > 0) {
    ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
    if (!SystemFunction036(data, chunk)) return FALSE;
    data += chunk;
    length -= chunk;
  }
  return TRUE;
}
