# Sets up moto (IAM auth on) with a private bucket and an object, and prints
# temporary credentials (access key, secret, session token) from AssumeRole.
import boto3, sys, json
ep, photo = sys.argv[1], sys.argv[2]
def kw(ak, sk, tok=None):
    return dict(endpoint_url=ep, region_name='us-east-1', aws_access_key_id=ak,
                aws_secret_access_key=sk, aws_session_token=tok)
allow = json.dumps({"Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
iam = boto3.client('iam', **kw('AKIAIOSFODNN7EXAMPLE', 'x'))
iam.create_user(UserName='admin')
iam.put_user_policy(UserName='admin', PolicyName='all', PolicyDocument=allow)
k = iam.create_access_key(UserName='admin')['AccessKey']
trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
    "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]})
iam.create_role(RoleName='resizer', AssumeRolePolicyDocument=trust)
iam.put_role_policy(RoleName='resizer', PolicyName='all', PolicyDocument=allow)
admin = kw(k['AccessKeyId'], k['SecretAccessKey'])
s3 = boto3.client('s3', **admin)
s3.create_bucket(Bucket='photos')
s3.put_object(Bucket='photos', Key='photo.jpg', Body=open(photo, 'rb').read())
role = 'arn:aws:iam::123456789012:role/resizer'
c = boto3.client('sts', **admin).assume_role(RoleArn=role, RoleSessionName='resizer')['Credentials']
# check the temporary credentials work before handing them out
boto3.client('s3', **kw(c['AccessKeyId'], c['SecretAccessKey'], c['SessionToken'])).head_object(Bucket='photos', Key='photo.jpg')
print(c['AccessKeyId'], c['SecretAccessKey'], c['SessionToken'])
