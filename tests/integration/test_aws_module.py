"""`aws` steps over the REST API against moto (server mode, loopback), read back
with boto3. moto's state lives for the whole run, so each test makes its own
resources under unique names and tags."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import boto3
import httpx
import pytest
from moto.core import DEFAULT_ACCOUNT_ID

from module_trials import run_steps, step, step_error, step_logs

REGION = "eu-west-1"
ROLE = f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/chaos"
# moto does not check image ids.
IMAGE = "ami-12c6146b"


def _client(service: str, region: str = REGION) -> Any:
    return boto3.session.Session(region_name=region).client(service)


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _instances(
    count: int = 1, *, az: str = "eu-west-1a", region: str = REGION
) -> list[str]:
    ec2 = _client("ec2", region)
    tag = _unique("chaos")
    placement = {"AvailabilityZone": az} if region == REGION else {}
    answer = ec2.run_instances(
        ImageId=IMAGE,
        MinCount=count,
        MaxCount=count,
        InstanceType="t3.micro",
        Placement=placement,
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": "chaos", "Value": tag}]}
        ],
    )
    return [i["InstanceId"] for i in answer["Instances"]]


def _state(instance_id: str, region: str = REGION) -> str:
    reservations = _client("ec2", region).describe_instances(InstanceIds=[instance_id])
    return str(reservations["Reservations"][0]["Instances"][0]["State"]["Name"])


def _left_stopped(trial: dict[str, Any], *instances: str) -> None:
    """No post step starts the instances: the trial fails, naming them."""
    assert trial["status"] == "Failed", trial["trial_record"]
    (residual,) = trial["residual_faults"]
    assert residual["what"].startswith(f"EC2 instance(s) {', '.join(instances)} ")
    assert [_state(i) for i in instances] == ["stopped"] * len(instances)


def test_ec2_stop_instance_left_stopped_fails_the_trial_and_revert_starts_it(
    api: httpx.Client, aws: str
) -> None:
    (instance,) = _instances()

    trial = run_steps(
        api,
        step("aws.ec2.stop_instance", {"instance_id": instance, "region": REGION}),
    )

    _left_stopped(trial, instance)
    (residual,) = trial["residual_faults"]
    assert residual["where"] == f"aws/{REGION}/{instance}"
    assert residual["undo"] == f"start EC2 instance(s) {instance} in {REGION}"
    reverted = api.post(f"/api/v1/trial/{trial['id']}/revert")
    assert reverted.status_code == 200, reverted.text
    assert [r["outcome"] for r in reverted.json()["reverted"]] == ["reverted"]
    assert _state(instance) in ("pending", "running")


def test_ec2_stop_undone_by_a_post_step_leaves_the_trial_succeeded(
    api: httpx.Client, aws: str
) -> None:
    (instance,) = _instances()
    where = {"instance_ids": [instance], "region": REGION}

    trial = run_steps(
        api,
        step("aws.ec2.stop_instances", where),
        post_steps=(step("aws.ec2.start_instances", where),),
    )

    assert trial["status"] == "Succeeded", trial["trial_record"]
    assert trial["residual_faults"] is None


def test_ec2_stop_instance_by_az_and_filter_with_kallisti_short_name(
    api: httpx.Client, aws: str
) -> None:
    (instance,) = _instances(az="eu-west-1c")
    tag = _client("ec2").describe_instances(InstanceIds=[instance])["Reservations"][0][
        "Instances"
    ][0]["Tags"][0]["Value"]

    trial = run_steps(
        api,
        step(
            "aws.stop_instance",
            {
                "az": "eu-west-1c",
                "filters": [{"Name": "tag:chaos", "Values": [tag]}],
                "region": REGION,
            },
        ),
    )

    _left_stopped(trial, instance)


def test_ec2_terminate_instances_terminates_them(api: httpx.Client, aws: str) -> None:
    instances = _instances(2)

    trial = run_steps(
        api,
        step(
            "aws.ec2.terminate_instances", {"instance_ids": instances, "region": REGION}
        ),
    )

    assert trial["status"] == "Succeeded", trial["trial_record"]
    assert [_state(i) for i in instances] == ["terminated", "terminated"]


def test_dry_run_resolves_the_instances_by_az_and_changes_nothing(
    api: httpx.Client, aws: str
) -> None:
    (instance,) = _instances(az="eu-west-1b")
    tag = _client("ec2").describe_instances(InstanceIds=[instance])["Reservations"][0][
        "Instances"
    ][0]["Tags"][0]["Value"]

    trial = run_steps(
        api,
        step(
            "aws.ec2.stop_instance",
            {
                "az": "eu-west-1b",
                "filters": [{"Name": "tag:chaos", "Values": [tag]}],
                "region": REGION,
            },
        ),
        dry_run=True,
    )

    assert trial["status"] == "Succeeded", trial["trial_record"]
    assert (
        f"Dry run: would call ec2.StopInstances(InstanceIds=['{instance}'], "
        f"Force=False) in {REGION}; nothing was changed." in step_logs(trial)
    )
    assert _state(instance) == "running"


def test_ecs_stop_random_tasks_stops_a_task(api: httpx.Client, aws: str) -> None:
    ecs = _client("ecs")
    cluster = _unique("cluster")
    ecs.create_cluster(clusterName=cluster)
    family = _unique("family")
    ecs.register_task_definition(
        family=family,
        containerDefinitions=[{"name": "web", "image": "nginx", "memory": 128}],
    )
    (host,) = _instances()
    ecs.register_container_instance(
        cluster=cluster,
        instanceIdentityDocument=json.dumps({"instanceId": host}),
    )
    tasks = ecs.run_task(cluster=cluster, taskDefinition=family, count=2)["tasks"]
    assert len(tasks) == 2

    trial = run_steps(
        api,
        step(
            "aws.ecs.stop_random_tasks",
            {"cluster": cluster, "task_count": 1, "region": REGION},
        ),
    )

    assert trial["status"] == "Succeeded", trial["trial_record"]
    described = ecs.describe_tasks(cluster=cluster, tasks=[t["taskArn"] for t in tasks])
    statuses = sorted(t["desiredStatus"] for t in described["tasks"])
    assert statuses == ["RUNNING", "STOPPED"]


def test_rds_stop_db_instance_stops_it(api: httpx.Client, aws: str) -> None:
    rds = _client("rds")
    name = _unique("db")
    rds.create_db_instance(
        DBInstanceIdentifier=name,
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="admin",
        MasterUserPassword="not-a-real-password",
        AllocatedStorage=20,
    )

    trial = run_steps(
        api,
        step(
            "aws.rds.stop_db_instance",
            {"db_instance_identifier": name, "region": REGION},
        ),
    )

    assert trial["status"] == "Succeeded", trial["trial_record"]
    described = rds.describe_db_instances(DBInstanceIdentifier=name)
    assert described["DBInstances"][0]["DBInstanceStatus"] == "stopped"


def test_rds_failover_db_cluster_promotes_the_reader(
    api: httpx.Client, aws: str
) -> None:
    rds = _client("rds")
    cluster = _unique("cluster")
    rds.create_db_cluster(
        DBClusterIdentifier=cluster,
        Engine="aurora-postgresql",
        MasterUsername="admin",
        MasterUserPassword="not-a-real-password",
    )
    writer, reader = _unique("writer"), _unique("reader")
    for member in (writer, reader):
        rds.create_db_instance(
            DBInstanceIdentifier=member,
            DBClusterIdentifier=cluster,
            DBInstanceClass="db.r5.large",
            Engine="aurora-postgresql",
        )

    trial = run_steps(
        api,
        step(
            "aws.rds.failover_db_cluster",
            {
                "db_cluster_identifier": cluster,
                "target_db_instance_identifier": reader,
                "region": REGION,
            },
        ),
    )

    assert trial["status"] == "Succeeded", trial["trial_record"]
    members = rds.describe_db_clusters(DBClusterIdentifier=cluster)["DBClusters"][0][
        "DBClusterMembers"
    ]
    assert {m["DBInstanceIdentifier"] for m in members if m["IsClusterWriter"]} == {
        reader
    }


def test_elbv2_deregister_target_takes_a_target_out(
    api: httpx.Client, aws: str
) -> None:
    ec2, elbv2 = _client("ec2"), _client("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    group = _unique("tg")
    arn = elbv2.create_target_group(
        Name=group, Protocol="HTTP", Port=80, VpcId=vpc, TargetType="instance"
    )["TargetGroups"][0]["TargetGroupArn"]
    instances = _instances(2)
    elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": i} for i in instances])

    trial = run_steps(
        api, step("aws.elbv2.deregister_target", {"tg_name": group, "region": REGION})
    )

    assert trial["status"] == "Succeeded", trial["trial_record"]
    health = elbv2.describe_target_health(TargetGroupArn=arn)[
        "TargetHealthDescriptions"
    ]
    assert len(health) == 1


def test_lambda_put_function_concurrency_sets_it(api: httpx.Client, aws: str) -> None:
    iam, lam = _client("iam"), _client("lambda")
    role = iam.create_role(
        RoleName=_unique("lambda-role"), AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    name = _unique("fn")
    lam.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
    )

    trial = run_steps(
        api,
        step(
            "aws.awslambda.put_function_concurrency",
            {"function_name": name, "concurrent_executions": 0, "region": REGION},
            expect=[{"operator": "eq", "ReservedConcurrentExecutions": 0}],
        ),
    )

    assert trial["status"] == "Succeeded", trial["trial_record"]
    assert (
        lam.get_function_concurrency(FunctionName=name)["ReservedConcurrentExecutions"]
        == 0
    )


def test_asg_suspend_processes_suspends_them(api: httpx.Client, aws: str) -> None:
    autoscaling, ec2 = _client("autoscaling"), _client("ec2")
    template = _unique("lt")
    ec2.create_launch_template(
        LaunchTemplateName=template,
        LaunchTemplateData={"ImageId": IMAGE, "InstanceType": "t3.micro"},
    )
    group = _unique("asg")
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=group,
        LaunchTemplate={"LaunchTemplateName": template},
        MinSize=0,
        MaxSize=1,
        DesiredCapacity=0,
        AvailabilityZones=["eu-west-1a"],
    )

    trial = run_steps(
        api,
        step(
            "aws.asg.suspend_processes",
            {"asg_names": [group], "process_names": ["Launch"], "region": REGION},
        ),
    )

    assert trial["status"] == "Succeeded", trial["trial_record"]
    described = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group])
    suspended = described["AutoScalingGroups"][0]["SuspendedProcesses"]
    assert [p["ProcessName"] for p in suspended] == ["Launch"]


def test_a_role_is_assumed_with_the_trial_in_its_session_name_and_keys_masked(
    api: httpx.Client, aws: str
) -> None:
    from moto.sts.models import sts_backends

    (instance,) = _instances()

    trial = run_steps(
        api,
        step(
            "aws.ec2.stop_instance",
            {"instance_id": instance, "region": REGION, "role": ROLE},
        ),
    )

    _left_stopped(trial, instance)
    sessions = [
        role.session_name
        for role in sts_backends[DEFAULT_ACCOUNT_ID]["global"].assumed_roles
    ]
    assert f"kallisti-{trial['id']}" in sessions


def test_a_step_credential_fails_with_invalid_credential_type(
    api: httpx.Client, aws: str, tmp_path: Any
) -> None:
    token = tmp_path / "token"
    token.write_text("some-token")

    trial = run_steps(
        api,
        step(
            "aws.ec2.stop_instance",
            {
                "instance_id": "i-0123456789abcdef0",
                "region": REGION,
                "credentials": {"type": "TOKEN_FILE", "token_path": str(token)},
            },
        ),
    )

    assert trial["status"] == "Failed"
    assert step_error(trial).startswith(
        "Step failed. Type: InvalidCredentialType. Error: Invalid credential type: "
        "Environment variables should be used for AWS client config"
    )


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (
            {"region": "mars-north-1"},
            "Error: AWS region 'mars-north-1' is unknown; check `region`",
        ),
        (
            {"region": REGION, "endpoint_url": "http://127.0.0.1:9"},
            "Error: AWS is unreachable in eu-west-1 with the worker's AWS credentials "
            "while ec2.stop_instance",
        ),
        (
            {"region": REGION, "instance_id": "i-0000000000000dead"},
            "Error: AWS refused DescribeInstances in eu-west-1 with the worker's AWS "
            "credentials: InvalidInstanceID.NotFound: The instance ID "
            "'i-0000000000000dead' does not exist",
        ),
    ],
    ids=["unknown-region", "unreachable", "nothing-matched"],
)
def test_aws_failures_are_one_line_naming_the_problem_and_the_fix(
    api: httpx.Client, aws: str, where: dict[str, Any], expected: str
) -> None:
    trial = run_steps(
        api,
        step(
            "aws.ec2.stop_instance",
            {"instance_id": "i-0123456789abcdef0", "request_timeout": 5, **where},
        ),
    )

    assert trial["status"] == "Failed"
    assert expected in step_error(trial)


def test_missing_worker_credentials_are_named_and_no_key_is_recorded(
    api: httpx.Client, aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")

    trial = run_steps(
        api,
        step("aws.ec2.stop_instance", {"instance_id": "i-1", "region": REGION}),
    )

    assert trial["status"] == "Failed"
    assert "No AWS credentials on the worker: set AWS_ACCESS_KEY_ID" in step_error(
        trial
    )


def test_two_trials_in_different_regions_at_once_each_use_their_own(
    api: httpx.Client, aws: str
) -> None:
    (west,) = _instances()
    (east,) = _instances(region="us-east-1", az="us-east-1a")
    results: dict[str, dict[str, Any]] = {}

    def run(region: str, instance: str) -> None:
        with httpx.Client(base_url=str(api.base_url), timeout=30) as own:
            results[region] = run_steps(
                own,
                step(
                    "aws.ec2.stop_instance",
                    {"instance_id": instance, "region": region},
                ),
            )

    threads = [
        threading.Thread(target=run, args=(REGION, west)),
        threading.Thread(target=run, args=("us-east-1", east)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    _left_stopped(results[REGION], west)
    assert results["us-east-1"]["status"] == "Failed"
    assert results["us-east-1"]["residual_faults"][0]["where"] == (
        f"aws/us-east-1/{east}"
    )
    assert _state(east, "us-east-1") == "stopped"
