// Re-exports the package as a CommonJS file sees it, so esm.test-d.mts can compare the two views.
export * from 'huawei-iot-upgrade-router';
