// SPDX-License-Identifier: GPL-2.0
/*
 * Linked into the sanitizer builds of the selftests: the first report
 * kills the test, so the harness sees it fail; nothing depends on the
 * environment of the guest's init.
 */
const char *__asan_default_options(void);
const char *__tsan_default_options(void);
const char *__ubsan_default_options(void);

const char *__asan_default_options(void)
{
	return "abort_on_error=1:detect_leaks=1:halt_on_error=1";
}

const char *__tsan_default_options(void)
{
	return "halt_on_error=1:abort_on_error=1";
}

const char *__ubsan_default_options(void)
{
	return "halt_on_error=1:abort_on_error=1:print_stacktrace=1";
}
