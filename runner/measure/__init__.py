"""The shell: servers, services, load generators and samplers run as owned process groups,
their outputs parsed, and each case's result written as it is measured."""
