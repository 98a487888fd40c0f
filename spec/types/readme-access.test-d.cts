// The README's access-control example, as written, under exactOptionalPropertyTypes (the option
// many strict projects turn on): `token: process.env.CALLBACK_TOKEN` is `string | undefined` there.
import { createUpgradeRouter } from 'huawei-iot-upgrade-router';

export const upgrades = createUpgradeRouter({
  allow: {
    ips: ['203.0.113.0/24', '2001:db8::/32'], // addresses and CIDR ranges, IPv4 and IPv6
    token: process.env.CALLBACK_TOKEN, // subscribe https://you.example/v1.0.0/messageReceiver?token=…
  },
});
