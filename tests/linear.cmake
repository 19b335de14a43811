# Dense layers (aviary_linear.h): precisions, shapes, transposed/bias, errors.
aviary_c_test(test_linear test_linear.c)
