/* The main() of a cmocka test file whose group has no setup or teardown:
 *   TEST_MAIN(cmocka_unit_test(a), cmocka_unit_test(b))
 * at file scope, with no semicolon after it. The group is named "tests", as before. */
#ifndef AURIGA_TESTMAIN_H
#define AURIGA_TESTMAIN_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define TEST_MAIN(...)                                                                 \
	int main(void)                                                                 \
	{                                                                              \
		const struct CMUnitTest tests[] = { __VA_ARGS__ };                     \
		return cmocka_run_group_tests(tests, NULL, NULL);                      \
	}

#endif
